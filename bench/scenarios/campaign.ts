/**
 * Campaign: one message to 10,000 recipients (1,000 with --quick) through the send gate, the sandbox provider, every
 * check on. Mixed consents: 80% with express written consent (sent), 10% opted out by STOP (refused OPTED_OUT, their
 * actors decide), 10% never heard of (refused NO_CONSENT from the opt-out list, no actor). Measured from the campaign
 * request to its completed status. Baseline: the engine's floor for "ask the actor, then call the provider", one
 * workflow running the same number of no-op activities, each issuing one no-op query, at the campaign's concurrency.
 */
import { randomUUID } from 'node:crypto';
import { CampaignClient } from '../../client/campaigns';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import { describeCpu, profilePhase, type PhaseProfile } from '../profile';
import type { Scenario, ScenarioContext } from '../scenario';
import { summariseThroughput, timedPool } from '../stats';
import { noopWorkflow, queryFloorWorkflow } from '../workflows';

/** The campaign's sends in flight at once: its parallel batches times the sends each keeps in flight (workflows/campaign.ts, activities/campaign.ts). */
const CAMPAIGN_CONCURRENCY = 24;
/** No-op workflows the floor's queries go to, round robin (as the campaign's go to many actors). */
const FLOOR_QUERY_TARGETS = 100;
const BODY = 'Spring cleaning offers this week.';

export const campaign: Scenario = {
  id: 'campaign',
  title: 'Campaign through the send gate (sandbox provider)',
  async run(context: ScenarioContext) {
    const { env, repetitions, log } = context;
    const count = Number(context.options['campaign-recipients'] ?? (context.quick ? 1000 : 10_000));
    // The run's own cache (250 actors): a campaign's recipients are mostly not in it, as in production, and each
    // decision then replays the recipient's short history. (A cache of every recipient ran the 256 MiB worker heap out.)
    const consentWorker = await env.startWorker('consent', context.tuning);
    const noopWorker = await env.startWorker('noop', context.tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const campaigns = new CampaignClient({ client: env.client, taskQueue: consentWorker.taskQueue, pool: env.pool });
    const rates: number[] = [];
    const floorRates: number[] = [];
    const profiles: PhaseProfile[] = [];
    const floorProfiles: PhaseProfile[] = [];
    const outcomes: Record<string, number>[] = [];
    try {
      const floorTargets = Array.from({ length: FLOOR_QUERY_TARGETS }, (_, index) => `bench-floor-target-${noopWorker.taskQueue}-${index}`);
      await timedPool(floorTargets, 16, (workflowId) => env.client.workflow.start(noopWorkflow, { workflowId, taskQueue: noopWorker.taskQueue, args: [{}] }));
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const recipients = context.phones.take(count);
        const consented = recipients.slice(0, Math.floor(count * 0.8));
        const stopped = recipients.slice(consented.length, consented.length + Math.floor(count * 0.1));
        log(`  preparing ${consented.length} consented and ${stopped.length} opted-out contacts…`);
        await contactsWithConsent(consent, consented);
        await timedPool(stopped, 16, (phone) =>
          consent.handleInbound({ from: phone, to: BUSINESS_NUMBER, body: 'STOP', messageId: `bench-stop-${randomUUID()}` }),
        );

        const floorRun = await profilePhase(env, { noop: noopWorker }, async () => {
          const floorStarted = performance.now();
          await env.client.workflow.execute(queryFloorWorkflow, {
            workflowId: `bench-floor-${randomUUID()}`,
            taskQueue: noopWorker.taskQueue,
            args: [{ count, concurrency: CAMPAIGN_CONCURRENCY, queryWorkflowIds: floorTargets }],
          });
          return (performance.now() - floorStarted) / 1000;
        });
        floorRates.push(count / floorRun.result);
        floorProfiles.push(floorRun.profile);

        const { result, profile } = await profilePhase(env, { consent: consentWorker }, async () => {
          const started = performance.now();
          const { campaignId } = await campaigns.createCampaign({
            from: BUSINESS_NUMBER,
            type: 'promotional',
            body: BODY,
            appendDisclosures: true,
            recipients: recipients.map((to) => ({ to })),
          });
          const progress = await campaigns.waitForCampaign(campaignId);
          return { progress, seconds: (performance.now() - started) / 1000 };
        });
        const { counts } = result.progress;
        const expected = { sent: consented.length, OPTED_OUT: stopped.length, NO_CONSENT: count - consented.length - stopped.length };
        const got = { sent: counts.sent, OPTED_OUT: counts.refusedByCode.OPTED_OUT ?? 0, NO_CONSENT: counts.refusedByCode.NO_CONSENT ?? 0 };
        outcomes.push({ ...got, failed: counts.failed, unknown: counts.unknown, pending: counts.pending });
        if (JSON.stringify(got) !== JSON.stringify(expected) || counts.pending > 0) {
          throw new Error(`campaign outcomes ${JSON.stringify(counts)}; expected ${JSON.stringify(expected)}`);
        }
        rates.push(count / result.seconds);
        profiles.push(profile);
        log(`  repetition ${repetition + 1}/${repetitions}: ${rates.at(-1)!.toFixed(1)} recipients/s (${JSON.stringify(got)}); floor ${floorRates.at(-1)!.toFixed(1)}/s`);
        log(`    CPU: ${describeCpu(profile, { count, what: 'recipient' })}`);
        log(`    floor CPU: ${describeCpu(floorRun.profile, { count, what: 'activity' })}`);
      }
    } finally {
      await consentWorker.stop();
      await noopWorker.stop();
    }
    const throughput = summariseThroughput(rates);
    const floor = summariseThroughput(floorRates);
    return {
      id: this.id,
      title: `${this.title}, ${count} recipients (80% consented, 10% opted out, 10% unknown)`,
      figures: [
        {
          label: 'recipients decided (sent or refused), request to completed',
          unit: '/s',
          higherIsBetter: true,
          median: throughput.medianPerSecond,
          p99: throughput.p99PerSecond,
          baseline: {
            label: `one workflow, ${count} no-op activities each issuing one no-op query, ${CAMPAIGN_CONCURRENCY} at a time`,
            median: floor.medianPerSecond,
            p99: floor.p99PerSecond,
          },
          target: '≥ 150/s',
        },
      ],
      details: { count, campaignConcurrency: CAMPAIGN_CONCURRENCY, rates, floorRates, outcomes, profiles, floorProfiles },
    };
  },
};
