/**
 * A campaign (id `campaign:<campaignId>`): one message to many recipients stored in Postgres. It waits for its start
 * time (a durable timer), then sends a few batches of recipients at a time through the send gate (activities that
 * read their rows themselves: the history holds line ranges, never recipients), until none is left. A recipient due
 * in its quiet hours is held by the gate (consent-rules.md §9): the campaign waits on a durable timer until the first
 * window opens, releases the held recipients whose window has opened, and sends them like the rest. Pause, resume
 * and cancel are updates; progress is a query; long campaigns continue as new with their cursor and counts.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CampaignActivities } from '../activities/campaign';
import { campaignProgressQuery, cancelCampaignUpdate, pauseCampaignUpdate, resumeCampaignUpdate } from './messages';
import {
  CAMPAIGN_FINAL_STATUSES,
  completeCampaignCounts,
  emptyCampaignCounts,
  type CampaignCounts,
  type CampaignProgress,
  type CampaignStatus,
  type CampaignTally,
} from './domain/campaign';

export interface CampaignWorkflowInput {
  campaignId: string;
  /** ISO 8601; null: start at once */
  startAt: string | null;
  /** per business number; null: as fast as the gate goes */
  ratePerSecond: number | null;
  /** carried across continue-as-new */
  carried?: CarriedCampaignState;
  /** rounds of batches per run before continuing as new (default MAX_ROUNDS_PER_RUN; tests lower it) */
  roundsPerRun?: number;
}

/** Everything a run hands the next: a plain object (no Map or Set), so it passes through continue-as-new untouched. */
interface CarriedCampaignState {
  status: CampaignStatus;
  counts: CampaignCounts;
  /** every pending recipient at or before this line has been handed to a batch that completed */
  afterLine: number;
  startedAt: string | null;
  pauseRequested: boolean;
  cancelRequested: boolean;
  /** when the first held recipient may go; absent in states carried by runs from before holds */
  heldUntil?: string | null;
}

/** Held recipients are waited for before a campaign completes (§9); unpatched, the campaign histories of corpus v1–v5 replay as they ran. */
export const CAMPAIGN_QUIET_HOURS_PATCH = 'campaign-quiet-hours';

/** Recipients per batch activity: a retried batch redoes little, and one batch's heartbeats cover it. */
const BATCH_SIZE = 100;
/** Batches at once: enough to overlap the gate's round trips, few enough not to crowd out replies and imports. */
const PARALLEL_BATCHES = 3;
/** Rounds per run before continuing as new, whatever the server suggests: ~10 events a round keeps a run far below the limits. */
const MAX_ROUNDS_PER_RUN = 500;
/** A release that found no held recipient due (the database's clock a little behind the workflow's) looks again after this. */
const HELD_RECHECK_MS = 1000;

const { planCampaignBatches, countCampaign, recordCampaignStatus, haltCampaignSends, nextHeldRelease, releaseHeldRecipients } = proxyActivities<CampaignActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumInterval: '30s', nonRetryableErrorTypes: ['UnknownCampaign'] },
});
// A killed worker is noticed by the missing heartbeat within seconds, and the batch resumes elsewhere; a pause or
// cancellation waits until the batch has stopped, so nothing is sent after the update answers.
const BATCH_ACTIVITY: ActivityOptions = {
  // A slow rate can make a batch take hours; a dead worker is found by the heartbeat, not by this.
  startToCloseTimeout: '24h',
  heartbeatTimeout: '15s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30s', nonRetryableErrorTypes: ['UnknownCampaign'] },
};
const { sendCampaignBatch, settleCancelledCampaign } = proxyActivities<CampaignActivities>(BATCH_ACTIVITY);

export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const { campaignId } = input;
  const state: CarriedCampaignState = input.carried
    ? // A run from before holds carried counts without `held`.
      { ...input.carried, counts: completeCampaignCounts(input.carried.counts) }
    : {
        status: input.startAt ? 'scheduled' : 'running',
        counts: emptyCampaignCounts(),
        afterLine: 0,
        startedAt: null,
        pauseRequested: false,
        cancelRequested: false,
        heldUntil: null,
      };
  let completedAt: string | null = null;
  const isFinal = () => CAMPAIGN_FINAL_STATUSES.includes(state.status);
  const view = (): CampaignProgress => ({
    campaignId,
    status: state.status,
    counts: state.counts,
    startAt: input.startAt,
    startedAt: state.startedAt,
    completedAt,
    pauseRequested: state.pauseRequested && state.status !== 'paused',
    heldUntil: state.heldUntil ?? null,
  });
  const show = () => {
    const { counts } = state;
    setCurrentDetails(
      `**${state.status}**: ${counts.sent} sent, ${counts.refused} refused, ${counts.failed} failed, ${counts.unknown} unknown, ` +
        `${counts.pending} pending, ${counts.held} held${state.heldUntil ? ` for quiet hours until ${state.heldUntil}` : ''}, ` +
        `${counts.cancelled} cancelled, ${counts.invalid} invalid (of ${counts.total})` +
        (Object.keys(counts.refusedByCode).length > 0 ? `; refused: ${Object.entries(counts.refusedByCode).map(([code, n]) => `${code} ${n}`).join(', ')}` : ''),
    );
  };

  setHandler(campaignProgressQuery, view);
  const refuseWhenFinal = (action: string) => () => {
    if (isFinal()) throw new Error(`campaign ${campaignId} is ${state.status}: it cannot be ${action}`);
  };
  setHandler(
    pauseCampaignUpdate,
    async () => {
      state.pauseRequested = true;
      // Answered once paused, or ended, or a resume overtook it (then it answers as running).
      await condition(() => state.status === 'paused' || isFinal() || !state.pauseRequested);
      return view();
    },
    { validator: refuseWhenFinal('paused') },
  );
  setHandler(
    resumeCampaignUpdate,
    async () => {
      state.pauseRequested = false;
      await condition(() => state.status !== 'paused');
      return view();
    },
    { validator: refuseWhenFinal('resumed') },
  );
  setHandler(
    cancelCampaignUpdate,
    async () => {
      state.cancelRequested = true;
      await condition(isFinal);
      return view();
    },
    // Cancelling a cancelled campaign answers as it stands; a completed one has nothing left to cancel.
    { validator: () => (state.status === 'completed' ? refuseWhenFinal('cancelled')() : undefined) },
  );

  /** The counts from the rows; histories from before holds answered them without `held` and `heldUntil`. */
  const recount = async () => {
    const { heldUntil = null, ...counts }: Partial<CampaignTally> = await countCampaign(campaignId);
    state.counts = completeCampaignCounts(counts);
    state.heldUntil = heldUntil;
  };

  /** The halt flag batches read before each send is up (a pause or cancellation raised it); running again lowers it. */
  let haltRaised = true;
  const enter = async (status: CampaignStatus) => {
    const lowersHalt = status === 'running' && haltRaised;
    if (status === state.status && !lowersHalt && !(status === 'running' && state.startedAt === null)) return;
    if (status === 'running') state.startedAt ??= new Date().toISOString();
    await recordCampaignStatus({ campaignId, status });
    if (status === 'running') haltRaised = false;
    await recount();
    state.status = status;
    show();
  };

  await recount();
  show();

  let rounds = 0;
  for (;;) {
    if (state.status === 'cancelled' || state.status === 'completed') break;
    if (state.cancelRequested) {
      await settleCancelledCampaign.executeWithOptions({ ...BATCH_ACTIVITY, summary: 'recipients not yet sent to are cancelled' }, [campaignId]);
      completedAt = new Date().toISOString();
      await enter('cancelled');
      break;
    }
    if (state.pauseRequested) {
      await enter('paused');
      await condition(() => !state.pauseRequested || state.cancelRequested);
      continue;
    }
    const wait = input.startAt ? Date.parse(input.startAt) - Date.now() : 0;
    if (wait > 0 && state.startedAt === null) {
      await enter('scheduled');
      // A durable timer: a worker restart or a deploy meanwhile does not move it.
      await condition(() => state.pauseRequested || state.cancelRequested, wait);
      continue;
    }
    await enter('running');

    const batches = await planCampaignBatches({ campaignId, afterLine: state.afterLine, batchSize: BATCH_SIZE, batches: PARALLEL_BATCHES });
    if (batches.length === 0) {
      // Nothing pending: recipients held for quiet hours are waited for; a campaign is complete once none is left.
      const holds = patched(CAMPAIGN_QUIET_HOURS_PATCH) ? await nextHeldRelease(campaignId) : { held: 0, earliest: null };
      if (holds.held === 0) {
        completedAt = new Date().toISOString();
        await enter('completed');
        break;
      }
      state.heldUntil = holds.earliest;
      show();
      const heldFor = holds.earliest ? Date.parse(holds.earliest) - Date.now() : 0;
      if (heldFor > 0) {
        // A durable timer, like startAt's: a pause or a cancellation ends the wait (a cancellation cancels the held).
        const summary = `${holds.held} recipient${holds.held === 1 ? '' : 's'} held for quiet hours until ${holds.earliest}`;
        await condition(() => state.pauseRequested || state.cancelRequested, heldFor, { summary });
        if (state.pauseRequested || state.cancelRequested) continue;
      }
      // Released recipients are pending again, at any line: plan from the first. The gate decides each again.
      const released = await releaseHeldRecipients(campaignId);
      if (released === 0) await condition(() => state.pauseRequested || state.cancelRequested, HELD_RECHECK_MS, { summary: 'held recipients not due yet by the database clock' });
      state.afterLine = 0;
      await recount();
      show();
      continue;
    }
    // Each business number's rate is shared by the batches that run at once.
    const ratePerSecond = input.ratePerSecond ? input.ratePerSecond / batches.length : null;
    const scope = new CancellationScope();
    const round = scope.run(() =>
      Promise.allSettled(
        batches.map(({ firstLine, lastLine }) =>
          sendCampaignBatch.executeWithOptions({ ...BATCH_ACTIVITY, summary: `recipients on lines ${firstLine}–${lastLine}` }, [
            { campaignId, firstLine, lastLine, ratePerSecond },
          ]),
        ),
      ),
    );
    // A pause or a cancellation stops the batches between sends; what they had not sent stays pending.
    let interrupted = false;
    let settled = false;
    void round.then(() => {
      settled = true;
    });
    await condition(() => settled || state.pauseRequested || state.cancelRequested);
    if (state.pauseRequested || state.cancelRequested) {
      interrupted = true;
      // Batches read the halt before each send; the cancellation also reaches one waiting for its retry or its pace.
      haltRaised = true;
      await haltCampaignSends(campaignId);
      scope.cancel();
    }
    const outcomes = await round;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      const failure = outcome.reason as unknown;
      if (interrupted && (isCancellation(failure) || failure instanceof ActivityFailure)) continue;
      throw failure;
    }
    // A batch that was interrupted is planned again: its decided recipients are no longer pending.
    if (!interrupted) state.afterLine = batches.at(-1)!.lastLine;
    await recount();
    show();

    rounds += 1;
    if (!state.pauseRequested && !state.cancelRequested && (workflowInfo().continueAsNewSuggested || rounds >= (input.roundsPerRun ?? MAX_ROUNDS_PER_RUN))) {
      await condition(allHandlersFinished);
      if (!state.pauseRequested && !state.cancelRequested) {
        await continueAsNew<typeof campaignWorkflow>({ ...input, carried: state });
      }
    }
  }
  await condition(allHandlersFinished);
  return view();
}
