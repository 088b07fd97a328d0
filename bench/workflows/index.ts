/**
 * The benchmark's baselines: a workflow that does nothing but take signals and answer queries, so each scenario can
 * be set beside the cost of Temporal alone. Bundled into the bench worker only; production never hosts it.
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

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
