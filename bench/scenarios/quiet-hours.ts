/**
 * Quiet hours: the same promotional campaign of 10,000 recipients (500 with --quick) twice in the run, every recipient
 * with express written consent, through the send gate and the sandbox provider, every check on:
 *   - off: its program's quietHoursTypes is [] (the gate asks the clock nothing about the hour);
 *   - on: quietHoursTypes ['promotional'], with every window open (bench/clock.ts windowsOpenNow: the federal and the
 *     three states' windows moved to be open in every US zone), so each send evaluates quiet hours in the recipient's
 *     zones and none is held. The baseline is off, measured in the same run on the same worker.
 * Each has its own freshly consented recipients (a second message to the same ones would meet the state limits, the
 * first-message disclosures and longer actor histories); the order alternates between repetitions. Measured from the
 * campaign request to its completed status, as the campaign scenario is, with CPU per message beside it, and the
 * clock's own cost (sendClock for each recipient in the driver, on and off).
 *
 * Then, unless --quiet-hours-held-recipients 0: held then released, 2,000 recipients (no more than the campaigns': 500
 * with --quick), or as --quiet-hours-held-recipients says. Florida numbers (area code 305), the program with
 * quiet hours on, and a worker whose Florida window opens once every recipient can have been held (estimated from the
 * on campaign's rate; --quiet-hours-hold-seconds to set it). Measured from the window's opening (the recipients'
 * held_until) to the last send, by the database's clock; the hold pass from the request to the last hold is reported
 * too. The run fails if a recipient was not held when the window opened (its figure would not be what it says).
 *
 *   npm run bench -- --only quiet-hours                                   10,000 each, 2,000 held
 *   npm run bench -- --only quiet-hours --quick                           500 each, 500 held
 *   npm run bench -- --only quiet-hours --quiet-hours-recipients 1000 --quiet-hours-held-recipients 0
 */
import { CampaignClient } from '../../client/campaigns';
import { campaignSendKeyPrefix, type CampaignProgress } from '../../workflows/domain/campaign';
import { sendClock, type ComplianceClockSettings } from '../../workflows/domain/compliance-clock';
import { windowOpeningIn, windowsOpenNow } from '../clock';
import type { StartedWorker } from '../environment';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Figure, Scenario, ScenarioContext } from '../scenario';
import { percentile, summariseThroughput } from '../stats';

const BODY = 'Spring cleaning offers this week.';
const HELD_AREA_CODE = '305';
const PROGRAMS = {
  off: { id: 'bench-quiet-hours-off', quietHoursTypes: [] as 'promotional'[] },
  on: { id: 'bench-quiet-hours-on', quietHoursTypes: ['promotional' as const] },
};
/** Worker start and campaign creation before the hold pass begins, in the held window's estimate. */
const HOLD_START_ALLOWANCE_S = 15;
/** The hold pass is estimated at the on campaign's rate, then given this much more time, and a margin. */
const HOLD_ESTIMATE_FACTOR = 1.5;
const HOLD_MARGIN_S = 10;

type Variant = 'off' | 'on';

interface CampaignRun {
  variant: Variant;
  repetition: number;
  campaignId: string;
  recipients: number;
  seconds: number;
  rate: number;
  counts: CampaignProgress['counts'];
  /** send_held ledger entries of the campaign: 0 unless a recipient was held */
  holds: number;
  areaCodes: Record<string, number>;
  /** CPU milliseconds per message: the consent worker's main thread (its activities, the gate and the clock), and every process */
  cpuMsPerMessage: { workerMainThread: number; allProcesses: number };
  profile: PhaseProfile;
}

interface HeldRun {
  repetition: number;
  campaignId: string;
  recipients: number;
  /** seconds from worker start to the window opening, as configured */
  windowOpensInSeconds: number;
  opensAt: string;
  requestedAt: string;
  lastHeldAt: string;
  heldUntil: { min: string; max: string };
  lastSentAt: string;
  holds: number;
  /** sent before the window opened: must be 0 */
  sentBeforeOpening: number;
  holdSeconds: number;
  holdRate: number;
  releaseSeconds: number;
  releaseRate: number;
  /** seconds from the last hold to the opening: the slack the estimate left */
  idleSeconds: number;
  counts: CampaignProgress['counts'];
  profile: PhaseProfile;
}

export const quietHours: Scenario = {
  id: 'quiet-hours',
  title: 'Campaign with quiet hours on beside off (sandbox provider)',
  async run(context: ScenarioContext) {
    const { env, repetitions, log, options } = context;
    const count = Number(options['quiet-hours-recipients'] ?? (context.quick ? 500 : 10_000));
    // Smaller by default: a hold pass and a release pass of its own, and a wait between them (a few minutes at 2,000).
    // More than the worker's cache of 250 actors, so the release replays its actors as a campaign's sends do.
    const heldCount = Number(options['quiet-hours-held-recipients'] ?? Math.min(count, 2000));
    const holdSecondsOption = options['quiet-hours-hold-seconds'] === undefined ? undefined : Number(options['quiet-hours-hold-seconds']);
    if (!(count > 0) || !(heldCount >= 0)) throw new Error('--quiet-hours-recipients must be positive and --quiet-hours-held-recipients at least 0');

    // One task queue for the scenario: the contact actors stay on it when the held variant's worker takes it over.
    const openClock = windowsOpenNow();
    let worker: StartedWorker = await env.startWorker('consent', context.tuning, { clock: openClock });
    const taskQueue = worker.taskQueue;
    // The driver's canSend (waiting for each consent to be in force) reads the hour with the same open windows.
    const consent = env.consentClient(taskQueue, { clock: openClock });
    const campaigns = new CampaignClient({ client: env.client, taskQueue, pool: env.pool });
    const runs: CampaignRun[] = [];
    const heldRuns: HeldRun[] = [];
    const clockCosts: ReturnType<typeof measureSendClock>[] = [];
    try {
      for (const variant of ['off', 'on'] as const) {
        await consent.upsertProgram({
          id: PROGRAMS[variant].id,
          businessName: 'Example Co',
          description: 'Example Co offers',
          frequency: 'Up to 4 msgs/month',
          quietHoursTypes: PROGRAMS[variant].quietHoursTypes,
        });
      }
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const recipients = { off: context.phones.take(count), on: context.phones.take(count) };
        const florida = heldCount > 0 ? context.phones.takeInAreaCode(HELD_AREA_CODE, heldCount) : [];
        const preparing = performance.now();
        log(`  repetition ${repetition + 1}/${repetitions}: preparing ${2 * count + florida.length} consented contacts (${count} off, ${count} on, ${florida.length} Florida)…`);
        await contactsWithConsent(consent, [...recipients.off, ...recipients.on, ...florida]);
        log(`    prepared in ${((performance.now() - preparing) / 1000).toFixed(0)} s`);

        const order: Variant[] = repetition % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
        for (const variant of order) {
          const run = await runCampaign(context, campaigns, worker, variant, repetition, recipients[variant]);
          runs.push(run);
          log(`    quiet hours ${variant}: ${run.rate.toFixed(1)} messages/s (${run.counts.sent} sent in ${run.seconds.toFixed(1)} s)`);
          log(`      CPU: ${describeCpu(run.profile, { count: run.recipients, what: 'message' })}`);
        }

        const clockCost = measureSendClock(recipients.on, openClock);
        clockCosts.push(clockCost);
        log(`    the clock alone (sendClock in the driver): ${clockCost.on.toFixed(1)} µs per send on, ${clockCost.off.toFixed(1)} µs off`);

        if (florida.length > 0) {
          const onRate = runs.filter((run) => run.variant === 'on' && run.repetition === repetition)[0]!.rate;
          const opensIn = holdSecondsOption ?? Math.ceil(HOLD_START_ALLOWANCE_S + (HOLD_ESTIMATE_FACTOR * florida.length) / onRate + HOLD_MARGIN_S);
          await worker.stop();
          const held = windowOpeningIn(opensIn, { region: 'FL', timeZone: 'America/New_York', openFor: 3 * 3600 });
          log(`    held then released: ${florida.length} Florida numbers, their window opens in ${opensIn} s (${held.opensAt.toISOString()})`);
          worker = await env.startWorker('consent', context.tuning, { taskQueue, clock: held.clock });
          const run = await runHeldCampaign(context, campaigns, worker, repetition, florida, held.opensAt, opensIn);
          heldRuns.push(run);
          log(
            `      held ${run.holds} in ${run.holdSeconds.toFixed(1)} s (${run.holdRate.toFixed(1)}/s), idle ${run.idleSeconds.toFixed(1)} s, ` +
              `then from the opening (${run.heldUntil.min}) to the last send ${run.releaseSeconds.toFixed(1)} s: ${run.releaseRate.toFixed(1)} messages/s`,
          );
          log(`      CPU (whole campaign): ${describeCpu(run.profile, { count: run.recipients, what: 'recipient' })}`);
          if (repetition + 1 < repetitions) {
            await worker.stop();
            worker = await env.startWorker('consent', context.tuning, { taskQueue, clock: openClock });
          }
        }
      }
    } finally {
      await worker.stop();
    }

    const of = (variant: Variant) => summariseThroughput(runs.filter((run) => run.variant === variant).map((run) => run.rate));
    const off = of('off');
    const on = of('on');
    const offBaseline = {
      label: `the same campaign, quiet hours off (program quietHoursTypes []), ${count} recipients`,
      median: off.medianPerSecond,
      p99: off.p99PerSecond,
    };
    const figures: Figure[] = [
      {
        label: 'quiet hours on, every window open (none held): messages sent, request to completed',
        unit: '/s',
        higherIsBetter: true,
        median: on.medianPerSecond,
        p99: on.p99PerSecond,
        baseline: offBaseline,
      },
      cpuFigure(runs, 'workerMainThread', 'consent worker main-thread CPU per message (its activities: the gate, where the clock runs)'),
      cpuFigure(runs, 'allProcesses', 'CPU per message, every process (dev server, worker, Postgres, driver)'),
      {
        label: 'the clock alone: sendClock per send, in the driver (area code, verdict, state limit)',
        unit: 'µs',
        higherIsBetter: false,
        median: percentile(clockCosts.map((cost) => cost.on), 50),
        p99: percentile(clockCosts.map((cost) => cost.on), 99),
        baseline: {
          label: 'the same with quiet hours off',
          median: percentile(clockCosts.map((cost) => cost.off), 50),
          p99: percentile(clockCosts.map((cost) => cost.off), 99),
        },
      },
    ];
    if (heldRuns.length > 0) {
      const release = summariseThroughput(heldRuns.map((run) => run.releaseRate));
      const hold = summariseThroughput(heldRuns.map((run) => run.holdRate));
      figures.push(
        {
          label: `held then released (${heldCount} Florida ${HELD_AREA_CODE} numbers, all held): messages sent, window opening to last send`,
          unit: '/s',
          higherIsBetter: true,
          median: release.medianPerSecond,
          p99: release.p99PerSecond,
          baseline: offBaseline,
        },
        {
          label: 'the same: recipients held, request to the last hold',
          unit: '/s',
          higherIsBetter: true,
          median: hold.medianPerSecond,
          p99: hold.p99PerSecond,
          baseline: offBaseline,
        },
      );
    }
    return {
      id: this.id,
      title: `Campaign, quiet hours on and off, ${count} promotional recipients each (all consented; sandbox provider)`,
      figures,
      details: {
        count,
        heldCount,
        openClock,
        programs: PROGRAMS,
        rates: { off: off.repetitions, on: on.repetitions },
        runs,
        heldRuns,
        clockCosts,
        notes: [
          'off and on run on the same worker with the same windows; only the program differs. The gate reads the recorded location and the state limit whatever the program, so off includes them too.',
          'each campaign has its own freshly consented recipients; the order of off and on alternates between repetitions',
        ],
      },
    };
  },
};

async function runCampaign(
  context: ScenarioContext,
  campaigns: CampaignClient,
  worker: StartedWorker,
  variant: Variant,
  repetition: number,
  recipients: string[],
): Promise<CampaignRun> {
  const { env } = context;
  const { result, profile } = await profilePhase(env, { consent: worker }, async () => {
    const started = performance.now();
    const { campaignId } = await campaigns.createCampaign({
      from: BUSINESS_NUMBER,
      type: 'promotional',
      program: PROGRAMS[variant].id,
      body: BODY,
      appendDisclosures: true,
      recipients: recipients.map((to) => ({ to })),
    });
    const progress = await campaigns.waitForCampaign(campaignId);
    return { campaignId, progress, seconds: (performance.now() - started) / 1000 };
  });
  const { counts } = result.progress;
  const holds = await heldEntries(context, result.campaignId);
  if (counts.sent !== recipients.length || counts.refused + counts.failed + counts.unknown + counts.pending + counts.held + counts.invalid > 0 || holds > 0) {
    throw new Error(`quiet hours ${variant}: campaign outcomes ${JSON.stringify(counts)}, ${holds} holds; expected ${recipients.length} sent and nothing held`);
  }
  return {
    variant,
    repetition,
    campaignId: result.campaignId,
    recipients: recipients.length,
    seconds: result.seconds,
    rate: recipients.length / result.seconds,
    counts,
    holds,
    areaCodes: tallyAreaCodes(recipients),
    cpuMsPerMessage: {
      workerMainThread: (1000 * (profile.cpuSeconds.find((entry) => entry.name === 'consent worker/main thread')?.seconds ?? Number.NaN)) / recipients.length,
      allProcesses: (1000 * profile.cpuSeconds.reduce((sum, entry) => sum + entry.seconds, 0)) / recipients.length,
    },
    profile,
  };
}

/**
 * The clock's own part of a send, in this process: sendClock for each recipient (location from the area code, the
 * verdict in each of its zones, the state limit), with quiet hours on and off, interleaved over rounds. Microseconds per
 * send, the median round; no database read (the gate's read of a recorded location runs whatever the program).
 */
function measureSendClock(phones: string[], clock: ComplianceClockSettings, rounds = 7): { on: number; off: number; onRounds: number[]; offRounds: number[] } {
  const at = new Date().toISOString();
  const pass = (types: readonly 'promotional'[]) => {
    const started = performance.now();
    let closed = 0;
    for (const phone of phones) if (sendClock({ phone, type: 'promotional', programQuietHoursTypes: types, recorded: null, at }, clock).clock.quietHours) closed++;
    if (closed > 0) throw new Error(`${closed} sends found their window closed`);
    return ((performance.now() - started) * 1000) / phones.length;
  };
  pass(PROGRAMS.on.quietHoursTypes);
  pass(PROGRAMS.off.quietHoursTypes);
  const onRounds: number[] = [];
  const offRounds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    onRounds.push(pass(PROGRAMS.on.quietHoursTypes));
    offRounds.push(pass(PROGRAMS.off.quietHoursTypes));
  }
  return { on: percentile(onRounds, 50), off: percentile(offRounds, 50), onRounds, offRounds };
}

async function runHeldCampaign(
  context: ScenarioContext,
  campaigns: CampaignClient,
  worker: StartedWorker,
  repetition: number,
  recipients: string[],
  opensAt: Date,
  windowOpensInSeconds: number,
): Promise<HeldRun> {
  const { env } = context;
  const { result, profile } = await profilePhase(env, { consent: worker }, async () => {
    const requestedAt = await databaseNow(context);
    const { campaignId } = await campaigns.createCampaign({
      from: BUSINESS_NUMBER,
      type: 'promotional',
      program: PROGRAMS.on.id,
      body: BODY,
      appendDisclosures: true,
      recipients: recipients.map((to) => ({ to })),
    });
    const progress = await campaigns.waitForCampaign(campaignId);
    return { campaignId, progress, requestedAt };
  });
  const { campaignId, progress, requestedAt } = result;
  const { counts } = progress;
  const prefix = `send:${campaignSendKeyPrefix(campaignId)}`;
  const { rows: [heldRow] } = await env.pool.query<{ holds: number; last_held: Date; min_until: Date; max_until: Date }>(
    `SELECT count(*)::int AS holds, max(recorded_at) AS last_held,
            min((evidence->>'heldUntil')::timestamptz) AS min_until, max((evidence->>'heldUntil')::timestamptz) AS max_until
     FROM consent_ledger WHERE event = 'send_held' AND starts_with(entry_key, $1)`,
    [prefix],
  );
  const { rows: [sentRow] } = await env.pool.query<{ last_sent: Date; before_opening: number }>(
    `SELECT max(decided_at) AS last_sent, count(*) FILTER (WHERE decided_at < $2)::int AS before_opening
     FROM campaign_recipients WHERE campaign_id = $1 AND status = 'sent'`,
    [campaignId, heldRow!.min_until],
  );
  if (counts.sent !== recipients.length || counts.refused + counts.failed + counts.unknown + counts.pending + counts.held + counts.invalid > 0) {
    throw new Error(`held then released: campaign outcomes ${JSON.stringify(counts)}; expected ${recipients.length} sent`);
  }
  if (heldRow!.holds !== recipients.length || sentRow!.before_opening > 0) {
    throw new Error(
      `held then released: ${heldRow!.holds} of ${recipients.length} recipients were held and ${sentRow!.before_opening} sent before the window opened ` +
        `(${heldRow!.min_until?.toISOString()}): the window opened before the hold pass ended; raise --quiet-hours-hold-seconds (was ${windowOpensInSeconds})`,
    );
  }
  const opening = heldRow!.min_until;
  const holdSeconds = (heldRow!.last_held.getTime() - requestedAt.getTime()) / 1000;
  const releaseSeconds = (sentRow!.last_sent.getTime() - opening.getTime()) / 1000;
  return {
    repetition,
    campaignId,
    recipients: recipients.length,
    windowOpensInSeconds,
    opensAt: opensAt.toISOString(),
    requestedAt: requestedAt.toISOString(),
    lastHeldAt: heldRow!.last_held.toISOString(),
    heldUntil: { min: heldRow!.min_until.toISOString(), max: heldRow!.max_until.toISOString() },
    lastSentAt: sentRow!.last_sent.toISOString(),
    holds: heldRow!.holds,
    sentBeforeOpening: sentRow!.before_opening,
    holdSeconds,
    holdRate: recipients.length / holdSeconds,
    releaseSeconds,
    releaseRate: recipients.length / releaseSeconds,
    idleSeconds: (opening.getTime() - heldRow!.last_held.getTime()) / 1000,
    counts,
    profile,
  };
}

/** Quiet hours on beside off: CPU per message over the repetitions (median, and the highest as the tail). */
function cpuFigure(runs: CampaignRun[], which: keyof CampaignRun['cpuMsPerMessage'], label: string): Figure {
  const of = (variant: Variant) => runs.filter((run) => run.variant === variant).map((run) => run.cpuMsPerMessage[which]);
  return {
    label,
    unit: 'ms',
    higherIsBetter: false,
    median: percentile(of('on'), 50),
    p99: percentile(of('on'), 99),
    baseline: { label: 'the same, quiet hours off', median: percentile(of('off'), 50), p99: percentile(of('off'), 99) },
  };
}

/** send_held ledger entries of one campaign's sends. */
async function heldEntries(context: ScenarioContext, campaignId: string): Promise<number> {
  const { rows } = await context.env.pool.query<{ holds: number }>(
    `SELECT count(*)::int AS holds FROM consent_ledger WHERE event = 'send_held' AND starts_with(entry_key, $1)`,
    [`send:${campaignSendKeyPrefix(campaignId)}`],
  );
  return rows[0]!.holds;
}

async function databaseNow(context: ScenarioContext): Promise<Date> {
  const { rows } = await context.env.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now;
}

function tallyAreaCodes(phones: string[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const phone of phones) tally[phone.slice(2, 5)] = (tally[phone.slice(2, 5)] ?? 0) + 1;
  return tally;
}
