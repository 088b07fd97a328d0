/**
 * Long-lived contact: thousands of inbound texts to one contact. Its history must stay bounded (the actor continues
 * as new at CONTACT_CONTINUE_AS_NEW_AFTER_EVENTS, default 2,000), and canSend must answer as fast at the end as at
 * the start. No baseline: the same contact at the start is the comparison.
 */
import { randomUUID } from 'node:crypto';
import { contactWorkflowId } from '../../workflows/contact-start';
import { BUSINESS_NUMBER } from '../fixtures';
import type { Scenario, ScenarioContext } from '../scenario';
import { pollUntil, summariseLatency, timedPool } from '../stats';

/** Texts in flight at once: one contact typing fast, or a provider redelivering a backlog. */
const CLIENT_CONCURRENCY = 8;
const QUERIES = 100;
/** Every this many texts, a HELP: it is answered (an activity) and recorded, so rotation waits for replies too. */
const HELP_EVERY = 50;

export const longLivedContact: Scenario = {
  id: 'long-lived',
  title: 'Long-lived contact',
  async run(context: ScenarioContext) {
    const { env, log } = context;
    const events = Number(context.options['long-lived-events'] ?? (context.quick ? 500 : 5000));
    const worker = await env.startWorker('consent', context.tuning);
    const consent = env.consentClient(worker.taskQueue);
    const [contact] = context.phones.take(1);
    const handle = env.client.workflow.getHandle(contactWorkflowId(contact!));
    const text = (index: number) => ({
      messageId: `SMlong${randomUUID().replaceAll('-', '')}`,
      from: contact!,
      to: BUSINESS_NUMBER,
      body: index % HELP_EVERY === HELP_EVERY - 1 ? 'HELP' : `Thanks, see you Tuesday (${index})`,
    });
    const queries = async () =>
      timedPool(Array.from({ length: QUERIES }), 1, () => consent.canSend(contact!, { from: BUSINESS_NUMBER, type: 'conversational' }));
    const runs = new Set<string>();
    let maxHistory = 0;
    const observe = async () => {
      const description = await handle.describe();
      runs.add(description.runId);
      maxHistory = Math.max(maxHistory, description.historyLength);
      return description;
    };
    try {
      const warmUp = 20;
      await timedPool(Array.from({ length: warmUp }, (_, index) => index), 1, (index) => consent.handleInbound(text(index)));
      await pollUntil(async () => (await consent.getContactState(contact!)).counts.inbound >= warmUp, { timeoutMs: 60_000, what: 'the first texts' });
      const atStart = await queries();
      await observe();

      const sampler = setInterval(() => void observe().catch(() => undefined), 1000);
      const started = performance.now();
      try {
        await timedPool(Array.from({ length: events - warmUp }, (_, index) => warmUp + index), CLIENT_CONCURRENCY, (index) => consent.handleInbound(text(index)));
        await pollUntil(async () => (await consent.getContactState(contact!)).counts.inbound >= events, {
          timeoutMs: 900_000,
          intervalMs: 500,
          what: `${events} texts applied`,
        });
      } finally {
        clearInterval(sampler);
      }
      const acceptedPerSecond = (events - warmUp) / ((performance.now() - started) / 1000);
      const final = await observe();
      const atEnd = await queries();
      // Every run of the chain, from visibility (the 1 s sampling above may miss short ones).
      let chainRuns = 0;
      for await (const _ of env.client.workflow.list({ query: `WorkflowId = '${contactWorkflowId(contact!)}'` })) chainRuns += 1;
      const start = summariseLatency(atStart);
      const end = summariseLatency(atEnd);
      log(
        `  ${events} texts at ${acceptedPerSecond.toFixed(1)}/s applied; ${chainRuns} runs (continue-as-new), history at most ${maxHistory} events ` +
          `(now ${final.historyLength}); canSend p50 ${start.p50Ms.toFixed(1)} → ${end.p50Ms.toFixed(1)} ms, p99 ${start.p99Ms.toFixed(1)} → ${end.p99Ms.toFixed(1)} ms`,
      );
      return {
        id: this.id,
        title: `${this.title}: ${events.toLocaleString('en-US')} inbound texts to one contact`,
        figures: [
          {
            label: `canSend at the end (after ${events.toLocaleString('en-US')} texts)`,
            unit: 'ms',
            higherIsBetter: false,
            median: end.p50Ms,
            p99: end.p99Ms,
            baseline: { label: `the same contact after ${warmUp} texts`, median: start.p50Ms, p99: start.p99Ms },
          },
          {
            label: `largest history seen, sampled each second (${chainRuns} runs in the chain)`,
            unit: 'events',
            higherIsBetter: false,
            median: maxHistory,
            p99: maxHistory,
          },
          {
            label: 'texts applied',
            unit: '/s',
            higherIsBetter: true,
            median: acceptedPerSecond,
            p99: acceptedPerSecond,
          },
        ],
        details: { events, chainRuns, runsSampled: runs.size, maxHistory, finalHistory: final.historyLength, atStart: start, atEnd: end, acceptedPerSecond },
      };
    } finally {
      await worker.stop();
    }
  },
};
