/**
 * Send check: canSend latency on warm contacts (in the worker's cache) and on evicted ones (the worker restarted, so
 * each query replays the contact's history first), at concurrency 1 and 32. Baselines: the same query pattern
 * against a no-op workflow (same cache state), and a primary-key SELECT in Postgres.
 */
import { randomInt } from 'node:crypto';
import { DRIVER_POOL_SIZE, type StartedWorker } from '../environment';
import { BUSINESS_NUMBER, contactsWithConsent } from '../fixtures';
import type { Figure, Scenario, ScenarioContext } from '../scenario';
import { summariseLatency, timedPool } from '../stats';
import { noopSignalCountQuery, noopWorkflow } from '../workflows';

const CONCURRENCIES = [1, 32] as const;

export const sendCheck: Scenario = {
  id: 'send-check',
  title: 'Send check (canSend)',
  async run(context: ScenarioContext) {
    const { env, repetitions, log } = context;
    const contactCount = Number(context.options['send-check-contacts'] ?? (context.quick ? 100 : 500));
    const warmCalls = { 1: contactCount, 32: contactCount * 4 };
    // "Warm" means in the worker's cache: both workers get room for every contact (and say so) if the run's tuning has less.
    const cached = context.tuning.maxCachedWorkflows ?? 0;
    const tuning = cached >= contactCount + 10 ? context.tuning : { ...context.tuning, maxCachedWorkflows: contactCount + 10 };
    if (tuning !== context.tuning) log(`  maxCachedWorkflows ${cached} → ${tuning.maxCachedWorkflows} for this scenario, so ${contactCount} contacts stay warm`);
    let consentWorker = await env.startWorker('consent', tuning);
    let noopWorker = await env.startWorker('noop', tuning);
    const consent = env.consentClient(consentWorker.taskQueue);
    const samples: Record<string, number[]> = {};
    const add = (key: string, durations: number[]) => (samples[key] ??= []).push(...durations);
    try {
      const contacts = context.phones.take(contactCount);
      const noopIds = contacts.map((_, index) => `noop-send-check-${consentWorker.taskQueue}-${index}`);
      await contactsWithConsent(consent, contacts);
      await timedPool(noopIds, 16, (workflowId) => env.client.workflow.start(noopWorkflow, { workflowId, taskQueue: noopWorker.taskQueue, args: [{}] }));
      const ledgerIds = (
        await env.pool.query<{ id: string }>(`SELECT id::text FROM consent_ledger WHERE contact = ANY($1) AND event = 'consent_recorded'`, [contacts])
      ).rows.map((row) => row.id);

      const canSend = (index: number) => consent.canSend(contacts[index]!, { from: BUSINESS_NUMBER, type: 'promotional' });
      const noopQuery = (index: number) => env.client.workflow.getHandle(noopIds[index]!).query(noopSignalCountQuery);
      const primaryKeySelect = (index: number) =>
        env.pool.query('SELECT id, contact, event, occurred_at FROM consent_ledger WHERE id = $1', [ledgerIds[index % ledgerIds.length]]);
      // Warm the no-op workflows into their worker's cache too (contactsWithConsent did it for the contacts).
      await timedPool(noopIds, 16, (_, index) => noopQuery(index));

      for (let repetition = 0; repetition < repetitions; repetition++) {
        for (const concurrency of CONCURRENCIES) {
          // c=1 asks each contact once in turn; c=32 asks random contacts, several times each.
          const picks = concurrency === 1 ? contacts.map((_, index) => index) : Array.from({ length: warmCalls[32] }, () => randomInt(contactCount));
          add(`pg c${concurrency}`, await timedPool(picks, concurrency, primaryKeySelect));
          add(`noop warm c${concurrency}`, await timedPool(picks, concurrency, noopQuery));
          add(`canSend warm c${concurrency}`, await timedPool(picks, concurrency, async (index) => assertAllowed(await canSend(index))));
        }
        for (const concurrency of CONCURRENCIES) {
          // A restarted worker holds nothing: every first query replays that workflow's history.
          [consentWorker, noopWorker] = await Promise.all([restart(context, consentWorker), restart(context, noopWorker)]);
          const picks = contacts.map((_, index) => index);
          add(`noop evicted c${concurrency}`, await timedPool(picks, concurrency, noopQuery));
          add(`canSend evicted c${concurrency}`, await timedPool(picks, concurrency, async (index) => assertAllowed(await canSend(index))));
        }
        log(
          `  repetition ${repetition + 1}/${repetitions}: ` +
            Object.entries(samples)
              .map(([key, values]) => `${key} p50 ${summariseLatency(values).p50Ms.toFixed(1)} ms`)
              .join(', '),
        );
      }
    } finally {
      await consentWorker.stop();
      await noopWorker.stop();
    }

    const figures: Figure[] = [];
    for (const cache of ['warm', 'evicted'] as const) {
      for (const concurrency of CONCURRENCIES) {
        const scenario = summariseLatency(samples[`canSend ${cache} c${concurrency}`]!);
        const noop = summariseLatency(samples[`noop ${cache} c${concurrency}`]!);
        figures.push({
          label: `canSend, ${cache} contacts, concurrency ${concurrency}`,
          unit: 'ms',
          higherIsBetter: false,
          median: scenario.p50Ms,
          p99: scenario.p99Ms,
          baseline: { label: `query to a no-op workflow (${cache})`, median: noop.p50Ms, p99: noop.p99Ms },
          target: cache === 'warm' ? 'p99 ≤ 1.5×' : undefined,
        });
      }
    }
    for (const concurrency of CONCURRENCIES) {
      const scenario = summariseLatency(samples[`canSend warm c${concurrency}`]!);
      const select = summariseLatency(samples[`pg c${concurrency}`]!);
      figures.push({
        label: `canSend, warm contacts, concurrency ${concurrency}`,
        unit: 'ms',
        higherIsBetter: false,
        median: scenario.p50Ms,
        p99: scenario.p99Ms,
        baseline: { label: `Postgres primary-key SELECT (driver pool of ${DRIVER_POOL_SIZE})`, median: select.p50Ms, p99: select.p99Ms },
      });
    }
    return {
      id: this.id,
      title: `${this.title} over ${contactCount} contacts`,
      figures,
      details: { contactCount, repetitions, tuning, summaries: Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, summariseLatency(values)])) },
    };
  },
};

function assertAllowed(answer: { allowed: boolean; reason: string }): void {
  if (!answer.allowed) throw new Error(`canSend refused a contact with consent: ${answer.reason}`);
}

/** Stops the worker and starts its successor on the same task queue, with the same tuning. */
async function restart(context: ScenarioContext, worker: StartedWorker): Promise<StartedWorker> {
  await worker.stop();
  return context.env.startWorker(worker.config.kind, worker.config.tuning, { taskQueue: worker.taskQueue, postgresPoolSize: worker.config.postgresPoolSize });
}
