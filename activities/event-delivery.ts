/**
 * Delivering consent events to one subscription (the event-delivery workflow runs these), signed by the Standard
 * Webhooks specification. A contact's events go one at a time in stream order, the next only after the subscriber
 * answered 2xx for this one, so they never overtake each other; different contacts' go side by side, a few at once.
 * Every attempt goes into the delivery log.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { Webhook } from 'standardwebhooks';
import {
  consentEventPayload,
  isStreamPosition,
  laterPosition,
  type StreamEvent,
  type StreamPosition,
} from '../workflows/domain/consent-events';
import type { EventSubscriptions, StoredEventSubscription } from './postgres/event-subscriptions';

/** How a delivery round paces itself; tests may shorten them. */
export interface EventDeliveryPacing {
  /** events read from the stream at once */
  pageSize: number;
  /** requests at once, each for a different contact (a contact's events go one at a time); 1: strictly in stream order */
  concurrency: number;
  /** how often an idle round looks for new events */
  pollMs: number;
  /** a round returns to its workflow after this long (so a continue-as-new can come), or after roundEvents deliveries */
  roundMs: number;
  roundEvents: number;
  /** one request's limit; Standard Webhooks asks receivers to answer within seconds and do the work later */
  requestTimeoutMs: number;
  /** the heartbeat while a request is out, well inside the workflow's heartbeat timeout */
  heartbeatEveryMs: number;
}

export const EVENT_DELIVERY_PACING: EventDeliveryPacing = {
  pageSize: 100,
  concurrency: 8,
  pollMs: 500,
  roundMs: 2 * 60_000,
  roundEvents: 500,
  requestTimeoutMs: 10_000,
  heartbeatEveryMs: 2_000,
};

export interface DeliverConsentEventsInput {
  subscriptionId: string;
  /** deliver what comes after this place in the stream */
  after: StreamPosition;
}

/** `open`: the round ended, call again from `position`; `stopped`: the subscription is inactive (its workflow ends). */
export interface DeliveryRound {
  outcome: 'open' | 'stopped';
  position: StreamPosition;
  delivered: number;
}

/** What a heartbeat carries: how far this round has delivered (a retried attempt resumes after it). */
interface DeliveryHeartbeat {
  position: StreamPosition;
}

/** What an error says in the delivery log: the subscriber's status and the start of its answer, or why no answer came. */
function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'no answer within the request timeout';
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}

/** One header per secret's signature, space-separated (Standard Webhooks): a receiver holding any one secret verifies. */
export function signatureHeader(secrets: readonly string[], eventId: string, at: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(' ');
}

export function createEventDeliveryActivities({ subscriptions, pacing = EVENT_DELIVERY_PACING }: { subscriptions: EventSubscriptions; pacing?: EventDeliveryPacing }) {
  /**
   * POSTs one event and logs the attempt; on a 2xx, `onDelivered` answers the round's new position (null: it did not
   * move), recorded in the same statement. Answers whether the subscriber took it.
   */
  async function deliver(
    subscription: StoredEventSubscription,
    event: StreamEvent,
    deliveredBy: string,
    heartbeat: () => void,
    onDelivered: () => StreamPosition | null,
  ): Promise<{ ok: boolean; summary: string }> {
    const context = Context.current();
    const payload = consentEventPayload(event);
    const body = JSON.stringify(payload);
    const signedAt = new Date();
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    const beating = setInterval(heartbeat, pacing.heartbeatEveryMs);
    try {
      const response = await fetch(subscription.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sms-consent-engine (consent events)',
          'webhook-id': payload.id,
          'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
          'webhook-signature': signatureHeader(subscription.secrets, payload.id, signedAt, body),
        },
        body,
        // A redirect is not an answer: the subscriber's URL is wrong, and following it would send the event elsewhere.
        redirect: 'manual',
        signal: AbortSignal.any([context.cancellationSignal, AbortSignal.timeout(pacing.requestTimeoutMs)]),
      });
      statusCode = response.status;
      const answer = (await response.text().catch(() => '')).slice(0, 200);
      if (response.status < 200 || response.status >= 300) error = `HTTP ${response.status}${answer ? `: ${answer}` : ''}`;
    } catch (failure) {
      error = context.cancellationSignal.aborted ? 'abandoned: the delivery was cancelled (a replay, or the worker stopping)' : describeFailure(failure);
    } finally {
      clearInterval(beating);
    }
    const ok = error === null;
    const attempt = await subscriptions.recordAttempt({
      subscriptionId: subscription.id,
      event: { number: event.number, type: event.type },
      durationMs: Date.now() - started,
      statusCode,
      succeeded: ok,
      error,
      deliveredBy,
      progress: ok ? onDelivered() : null,
    });
    return { ok, summary: `${payload.id} (${event.type}) attempt ${attempt} to ${subscription.id}: ${error ?? `HTTP ${statusCode}`}` };
  }

  return {
    /** Where a new subscription starts: after the last event already final. */
    async consentEventStreamHead(): Promise<StreamPosition> {
      return subscriptions.streamHead();
    },

    /**
     * One round: delivers the subscription's events after `after` until roundMs or roundEvents, and answers where it
     * got to. Events of different contacts go out side by side (`concurrency` at once), each contact's one at a time
     * in stream order; the position only passes an event once it and every event before it were answered 2xx.
     * Anything else fails the attempt; Temporal retries it (without limit) and the retry resumes from the later of
     * its heartbeat and the progress recorded with each 2xx, skipping what this round already delivered: a killed
     * worker redelivers only what was in flight.
     */
    async deliverConsentEvents({ subscriptionId, after }: DeliverConsentEventsInput): Promise<DeliveryRound> {
      const context = Context.current();
      const { info } = context;
      // Stable across this activity's retries, new for every round, replay and run.
      const deliveredBy = `${info.workflowExecution?.runId ?? info.activityId}/${info.activityId}`;
      let position = after;
      const beat = info.heartbeatDetails as DeliveryHeartbeat | undefined;
      if (isStreamPosition(beat?.position)) position = laterPosition(position, beat.position);
      const recorded = await subscriptions.deliveredBy(subscriptionId, deliveredBy);
      if (recorded.position) position = laterPosition(position, recorded.position);
      const deliveredBefore = new Set(recorded.events);
      const heartbeat = () => context.heartbeat({ position } satisfies DeliveryHeartbeat);
      heartbeat();

      const deadline = Date.now() + pacing.roundMs;
      let delivered = 0;
      try {
        while (Date.now() < deadline && delivered < pacing.roundEvents) {
          // Read at every page: a rotated secret, a changed URL or event list applies from the next event on.
          const subscription = await subscriptions.get(subscriptionId);
          if (!subscription) throw ApplicationFailure.nonRetryable(`no event subscription ${subscriptionId}`, 'UnknownEventSubscription');
          if (!subscription.active) return { outcome: 'stopped', position, delivered };
          const page = await subscriptions.eventsAfter(position, subscription.events, pacing.pageSize);
          // A campaign's completion comes after everything before it in the stream (its recipients' refusals too), and
          // before everything after it: it goes alone.
          const barrier = page.events.findIndex((event, index) => event.campaign !== undefined && index > 0);
          const events = page.events[0]?.campaign ? page.events.slice(0, 1) : barrier > 0 ? page.events.slice(0, barrier) : page.events;
          const whole = events.length === page.events.length;

          // The events in order, each done once answered 2xx (or already by an earlier attempt of this round).
          const done = events.map((event) => deliveredBefore.has(event.number));
          let frontier = 0;
          /** The position passes the longest run of done events from the page's start, and no further. */
          const advance = (): StreamPosition | null => {
            const from = frontier;
            while (frontier < events.length && done[frontier]) frontier += 1;
            if (frontier === from) return null;
            position = events[frontier - 1]!.position;
            return position;
          };
          advance();
          const lanes = new Map<string, number[]>();
          events.forEach((event, index) => {
            if (done[index]) return;
            const lane = orderingKey(event);
            lanes.set(lane, [...(lanes.get(lane) ?? []), index]);
          });
          let failure: string | null = null;
          const queue = [...lanes.values()];
          const runLanes = async () => {
            for (let lane = queue.shift(); lane && failure === null; lane = queue.shift()) {
              for (const index of lane) {
                if (failure !== null) return;
                const event = events[index]!;
                const outcome = await deliver(subscription, event, deliveredBy, heartbeat, () => {
                  done[index] = true;
                  return advance();
                }).catch((error: unknown) => {
                  failure ??= describeFailure(error);
                  throw error;
                });
                if (!outcome.ok) {
                  // The contact's later events wait behind this one; the other lanes stop after their current request.
                  failure ??= outcome.summary;
                  return;
                }
                delivered += 1;
                heartbeat();
              }
            }
          };
          // Every lane settles before the attempt ends: none may still be sending when Temporal retries it.
          const settled = await Promise.allSettled(Array.from({ length: Math.min(pacing.concurrency, queue.length) }, runLanes));
          const thrown = settled.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
          if (thrown) throw thrown.reason;
          heartbeat();
          // Retried by Temporal with backoff, for as long as the subscriber takes.
          if (failure !== null) throw ApplicationFailure.retryable(failure, 'SubscriberUnavailable');
          // Events of other types are passed over, not delivered.
          if (whole && page.scannedThrough) position = laterPosition(position, page.scannedThrough);
          heartbeat();
          if (page.scannedThrough === null) await context.sleep(pacing.pollMs);
        }
        return { outcome: 'open', position, delivered };
      } catch (error) {
        // A replay (or the worker stopping) cancelled the round: say so to Temporal, which then knows it stopped.
        if (context.cancellationSignal.aborted && !(error instanceof CancelledFailure)) throw new CancelledFailure(`delivery round cancelled: ${describeFailure(error)}`);
        throw error;
      }
    },
  };
}

/** Events that must not overtake each other: a contact's, a campaign's; any other stands alone. */
function orderingKey(event: StreamEvent): string {
  if (event.contact !== null) return `contact:${event.contact}`;
  if (event.campaign) return `campaign:${event.campaign.campaignId}`;
  return `event:${event.number}`;
}

export type EventDeliveryActivities = ReturnType<typeof createEventDeliveryActivities>;
