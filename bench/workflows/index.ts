/**
 * The benchmark's baselines: a workflow that does nothing but take signals and answer queries, so each scenario can
 * be set beside the cost of Temporal alone. Bundled into the bench worker only; production never hosts it.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/** Any payload; the workflow only counts it (the STOP-shaped payload keeps the wire size comparable). */
export const noopSignal = defineSignal<[unknown]>('noopSignal');
/** How many signals this run has taken. */
export const noopSignalCountQuery = defineQuery<number>('noopSignalCount');

export interface NoopWorkflowInput {
  /** finish after this many signals (the burst baseline counts finished runs); absent: wait forever like an actor */
  completeAfterSignals?: number;
}

export async function noopWorkflow(input: NoopWorkflowInput = {}): Promise<number> {
  let signals = 0;
  setHandler(noopSignal, () => {
    signals += 1;
  });
  setHandler(noopSignalCountQuery, () => signals);
  const { completeAfterSignals } = input;
  await condition(() => completeAfterSignals !== undefined && signals >= completeAfterSignals);
  return signals;
}

/** The no-op activities the noop worker hosts (bench/worker-process.ts): Temporal's own cost of one activity. */
export interface NoopActivities {
  /** does nothing */
  noopActivity(): Promise<void>;
  /** one query to a no-op workflow: the floor of "ask the actor" */
  noopQueryActivity(workflowId: string): Promise<number>;
}

const floorActivities = proxyActivities<NoopActivities>({ startToCloseTimeout: '30s' });

/** Single-send baseline: a workflow that runs one no-op activity and returns. */
export async function oneActivityWorkflow(): Promise<void> {
  await floorActivities.noopActivity();
}

export interface QueryFloorInput {
  /** how many activities to run, each issuing one query */
  count: number;
  /** how many run at once */
  concurrency: number;
  /** the no-op workflows queried, round robin */
  queryWorkflowIds: string[];
}

/**
 * Campaign baseline: the engine's floor for "ask the actor, then call the provider", one workflow running `count`
 * no-op activities, `concurrency` at a time, each issuing one no-op query.
 */
export async function queryFloorWorkflow({ count, concurrency, queryWorkflowIds }: QueryFloorInput): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      await floorActivities.noopQueryActivity(queryWorkflowIds[index % queryWorkflowIds.length]!);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return done;
}
