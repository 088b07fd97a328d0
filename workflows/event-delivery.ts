/**
 * One subscription's consent events (id `event-delivery:<subscriptionId>`), for as long as the subscription lives: a
 * heartbeating activity delivers the stream in order, a round at a time, and hands back how far it got. A subscriber
 * that is down is retried by Temporal without limit (backoff up to a minute), so it gets every event once it answers
 * 2xx again, and nothing overtakes the event it is stuck on. A replay (an update) rewinds the position; the run
 * continues as new to keep its history short. Secrets never enter the history: the activity reads them from Postgres.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { EventDeliveryActivities } from '../activities/event-delivery';
import { earlierPosition, isStreamPosition, STREAM_START, type StreamPosition } from './domain/consent-events';

export interface EventDeliveryInput {
  subscriptionId: string;
  /** carried across continue-as-new; absent at the start: the stream's head (a new subscription hears what comes next) */
  position?: StreamPosition;
  /** rounds per run before continuing as new (default MAX_ROUNDS_PER_RUN; tests lower it) */
  roundsPerRun?: number;
}

/** A replay: deliver again everything after `after` (the HTTP API resolves an event id or a time into it). */
export interface EventReplayRequest {
  after: StreamPosition;
  /** the event it starts from, for the answer and the Web UI */
  fromEventId: string;
}

export interface EventDeliveryProgress {
  subscriptionId: string;
  position: StreamPosition;
  /** events delivered by this run */
  delivered: number;
  /** a replay asked for and not yet begun */
  replayPending: boolean;
}

/** Rewinds the subscription's position to `after` (never forwards: a subscriber behind it gets everything still). */
export const replayConsentEventsUpdate = defineUpdate<EventDeliveryProgress, [EventReplayRequest]>('replayConsentEvents');
export const eventDeliveryProgressQuery = defineQuery<EventDeliveryProgress>('progress');

/** ~6 history events a round: a run stays far below the server's limits, whatever it suggests. */
const MAX_ROUNDS_PER_RUN = 300;

const { consentEventStreamHead } = proxyActivities<EventDeliveryActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '1m' },
  summary: 'where the event stream ends now',
});

/**
 * A round: minutes of work, proven alive by its heartbeat (a killed worker is noticed within 10 s and the round
 * resumes on another from its last progress). A subscriber answering 5xx, 4xx or nothing is retried for as long as it
 * takes, every minute at most. A replay cancels the round and waits until it has stopped, so two rounds never
 * deliver at once (that could reorder a contact's events).
 */
const DELIVERY_ROUND: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // No maximumAttempts and no schedule-to-close timeout: retried until the subscriber answers, however long that takes.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: ['UnknownEventSubscription'] },
};
const { deliverConsentEvents } = proxyActivities<EventDeliveryActivities>(DELIVERY_ROUND);

export async function eventDeliveryWorkflow(input: EventDeliveryInput): Promise<EventDeliveryProgress> {
  const { subscriptionId } = input;
  let position: StreamPosition | null = input.position ?? null;
  let rewindTo: StreamPosition | null = null;
  let round: CancellationScope | null = null;
  let delivered = 0;
  const view = (): EventDeliveryProgress => ({ subscriptionId, position: position ?? STREAM_START, delivered, replayPending: rewindTo !== null });
  const show = () =>
    setCurrentDetails(`**delivering** to ${subscriptionId}: ${delivered} events this run, after stream position ${position?.tx ?? 0}/${position?.id ?? 0}`);

  setHandler(eventDeliveryProgressQuery, view);
  setHandler(
    replayConsentEventsUpdate,
    ({ after }) => {
      rewindTo = rewindTo ? earlierPosition(rewindTo, after) : after;
      // The round stops at its next heartbeat; the loop then starts again from the rewound position.
      round?.cancel();
      return view();
    },
    {
      validator: (request) => {
        if (!isStreamPosition(request?.after)) throw new Error('a replay needs `after`, a stream position { tx, id } of decimal strings');
      },
    },
  );

  position ??= await consentEventStreamHead();
  show();
  for (let rounds = 1; ; rounds += 1) {
    if (rewindTo) {
      position = earlierPosition(position, rewindTo);
      rewindTo = null;
    }
    const after: StreamPosition = position;
    const scope = new CancellationScope();
    round = scope;
    try {
      const result = await scope.run(() =>
        deliverConsentEvents.executeWithOptions({ ...DELIVERY_ROUND, summary: `consent events to ${subscriptionId} after ${after.tx}/${after.id}` }, [
          { subscriptionId, after },
        ]),
      );
      position = result.position;
      delivered += result.delivered;
      if (result.outcome === 'stopped') break;
    } catch (error) {
      // Cancelled by a replay: the next round starts from the rewound position (or from this round's start, if
      // earlier: what this round delivered may come again, which at-least-once allows).
      if (!(isCancellation(error) && rewindTo !== null)) throw error;
    } finally {
      round = null;
    }
    show();
    if (rewindTo === null && (workflowInfo().continueAsNewSuggested || rounds >= (input.roundsPerRun ?? MAX_ROUNDS_PER_RUN))) {
      await condition(allHandlersFinished);
      const carried: StreamPosition = rewindTo ? earlierPosition(position, rewindTo) : position;
      await continueAsNew<typeof eventDeliveryWorkflow>({ ...input, position: carried });
    }
  }
  await condition(allHandlersFinished);
  return view();
}
