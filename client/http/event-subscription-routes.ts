/**
 * Consent events out (issue 16): subscriptions (POST to create or replace, GET to list), each one's delivery log,
 * and replays. Each subscription's deliveries are a workflow, `event-delivery:<id>`, started when it is created and,
 * for those of EVENT_SUBSCRIPTIONS, when the API starts. Registered by server.ts, behind its API keys and its error
 * answers. No answer carries a secret, except a secret the engine generated, once, in the POST that created it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { z } from 'zod';
import { EventSubscriptions, type EventSubscriptionView } from '../../activities/postgres/event-subscriptions';
import {
  consentEventId,
  consentEventNumber,
  eventDeliveryWorkflowId,
  eventReplaySchema,
  eventSubscriptionSchema,
  EVENT_SUBSCRIPTION_ID,
  type EventSubscriptionDefinition,
} from '../../workflows/domain/consent-events';
import { eventDeliveryWorkflow, replayConsentEventsUpdate } from '../../workflows/event-delivery';
import { NotFoundError } from '../consent-client';

export interface EventSubscriptionRouteOptions {
  client: Client;
  pool: Pool;
  taskQueue: string;
  /** EVENT_SUBSCRIPTIONS: saved, and their workflows started, once the API is ready (and retried until they are) */
  configured?: readonly EventSubscriptionDefinition[];
}

/** The subscription belongs to EVENT_SUBSCRIPTIONS (or is inactive): 409. */
export class EventSubscriptionConflictError extends Error {
  override readonly name = 'EventSubscriptionConflictError';
  readonly statusCode = 409;
}

/** A configuration start that could not reach Postgres or Temporal tries again after this. */
const CONFIGURED_RETRY_MS = 30_000;

/** Standard Webhooks' secret: whsec_ and base64 of random bytes (32: within the 24–64 the specification asks). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Starts the subscription's delivery workflow unless it runs already: the workflow id makes this idempotent. */
export async function startEventDelivery(client: Client, taskQueue: string, subscription: Pick<EventSubscriptionDefinition, 'id' | 'url'>): Promise<string> {
  const workflowId = eventDeliveryWorkflowId(subscription.id);
  await client.workflow.start(eventDeliveryWorkflow, {
    workflowId,
    taskQueue,
    args: [{ subscriptionId: subscription.id }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Consent events to subscription ${subscription.id} (${new URL(subscription.url).host})`,
  });
  return workflowId;
}

/** EVENT_SUBSCRIPTIONS into Postgres, each one's workflow started; configured ones no longer listed stop. */
export async function startConfiguredEventSubscriptions(
  { client, pool, taskQueue }: Pick<EventSubscriptionRouteOptions, 'client' | 'pool' | 'taskQueue'>,
  configured: readonly EventSubscriptionDefinition[],
): Promise<{ started: string[]; deactivated: string[] }> {
  const { deactivated } = await new EventSubscriptions(pool).syncConfigured(configured);
  for (const subscription of configured) await startEventDelivery(client, taskQueue, subscription);
  return { started: configured.map((subscription) => subscription.id), deactivated };
}

const subscriptionParams = z.object({ subscriptionId: z.string().regex(EVENT_SUBSCRIPTION_ID, 'must be 1 to 64 letters, digits, - or _') });
const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.string().regex(/^\d{1,19}$/, 'must be the `next` of an earlier page').optional(),
  eventId: z.string().regex(/^evt_[1-9]\d{0,18}$/, 'must be an event id such as evt_123').optional(),
});

export const eventSubscriptionRoutes: FastifyPluginAsync<EventSubscriptionRouteOptions> = async (instance, { client, pool, taskQueue, configured }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  const subscriptions = new EventSubscriptions(pool);

  if (configured && configured.length > 0) {
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const startConfigured = () => {
      startConfiguredEventSubscriptions({ client, pool, taskQueue }, configured).then(
        ({ started, deactivated }) => instance.log.info({ started, deactivated }, `consent events: ${started.length} configured subscriptions delivering`),
        (error: unknown) => {
          instance.log.error({ err: error }, `consent events: the configured subscriptions could not be started; retrying in ${CONFIGURED_RETRY_MS / 1000} s`);
          if (!stopped) retry = setTimeout(startConfigured, CONFIGURED_RETRY_MS);
        },
      );
    };
    // In the background: an API whose Temporal is not up yet still starts, and its configured subscriptions follow.
    instance.addHook('onReady', async () => startConfigured());
    instance.addHook('onClose', async () => {
      stopped = true;
      clearTimeout(retry);
    });
  }

  const existing = async (subscriptionId: string): Promise<EventSubscriptionView> => {
    const view = await subscriptions.view(subscriptionId);
    if (!view) throw new NotFoundError(`no event subscription ${subscriptionId}`);
    return view;
  };

  /**
   * Creates (201) or replaces (200) a subscription by its id: a new secret list is how a secret is rotated. Without
   * `secret` or `secrets`, one is generated and answered here, once.
   */
  app.post('/v1/event-subscriptions', { schema: { body: eventSubscriptionSchema } }, async (request, reply) => {
    const fields = request.body;
    const generated = fields.secrets === undefined ? generateWebhookSecret() : undefined;
    const subscription: EventSubscriptionDefinition = { ...fields, id: fields.id ?? randomUUID(), secrets: fields.secrets ?? [generated!] };
    const saved = await subscriptions.save(subscription, 'api');
    if (saved === 'configured') {
      throw new EventSubscriptionConflictError(`event subscription ${subscription.id} is set by EVENT_SUBSCRIPTIONS: change it there`);
    }
    const workflowId = await startEventDelivery(client, taskQueue, subscription);
    return reply.status(saved === 'created' ? 201 : 200).send({
      ...(await existing(subscription.id)),
      workflowId,
      ...(generated ? { secret: generated, secretNote: 'generated for this subscription: shown this once, never again' } : {}),
    });
  });

  app.get('/v1/event-subscriptions', async () => ({ subscriptions: await subscriptions.list() }));

  /** The delivery log, newest first: every attempt with its status code or error. */
  app.get('/v1/event-subscriptions/:subscriptionId/deliveries', { schema: { params: subscriptionParams, querystring: deliveriesQuery } }, async (request) => {
    const { subscriptionId } = request.params;
    await existing(subscriptionId);
    const { limit, before, eventId } = request.query;
    return { subscriptionId, ...(await subscriptions.deliveries(subscriptionId, { limit, before, eventNumber: eventId ? consentEventNumber(eventId)! : undefined })) };
  });

  /** Delivers again from an event (it included) or a time (the first event recorded then or later), in order, then on as before. */
  app.post('/v1/event-subscriptions/:subscriptionId/replay', { schema: { params: subscriptionParams, body: eventReplaySchema } }, async (request, reply) => {
    const { subscriptionId } = request.params;
    const view = await existing(subscriptionId);
    if (!view.active) throw new EventSubscriptionConflictError(`event subscription ${subscriptionId} is no longer in EVENT_SUBSCRIPTIONS: nothing is delivered to it`);
    const { fromEventId, from } = request.body;
    let start: { after: { tx: string; id: string }; fromEventId: string } | undefined;
    if (fromEventId !== undefined) {
      const after = await subscriptions.positionBeforeEvent(consentEventNumber(fromEventId)!);
      if (!after) throw new NotFoundError(`no consent event ${fromEventId}`);
      start = { after, fromEventId };
    } else {
      const first = await subscriptions.positionBeforeTime(from!);
      if (first) start = { after: first.position, fromEventId: consentEventId(first.eventNumber) };
    }
    if (!start) return reply.status(200).send({ subscriptionId, replaying: false, reason: `no event was recorded at or after ${from}` });
    const workflowId = await startEventDelivery(client, taskQueue, view);
    const progress = await client.workflow.getHandle(workflowId).executeUpdate(replayConsentEventsUpdate, { args: [start] });
    return reply.status(202).send({ subscriptionId, replaying: true, fromEventId: start.fromEventId, workflowId, replayPending: progress.replayPending });
  });
};
