/** The HTTP API: inbound texts in, contact state and send decisions out. Every input validated by the shared schemas. */
import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { Client } from '@temporalio/client';
import { isDependencyUnavailable } from '../dependency-errors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import type { ApiKey } from '../config';
import { OutboundMessages } from '../../activities/postgres/outbound-messages';
import { ConsentRefusedError, ContactStateUnavailableError, InvalidInputError, NotFoundError, type ConsentClient } from '../consent-client';
import { RECEIVED_AT_MAX_AHEAD_MS, RECEIVED_AT_MAX_BEHIND_MS } from '../../workflows/domain/schemas';
import { CampaignClient } from '../campaigns';
import { requireApiKey } from './api-keys';
import { campaignRoutes } from './campaign-routes';
import { consolePlugin } from './console/plugin';
import { eventSubscriptionRoutes, type EventSubscriptionRouteOptions } from './event-subscription-routes';
import { checkHealth } from './health';
import { reportRoutes } from './report-routes';
import { sendCsvExport } from './csv-export';
import { webhookRoutes, type WebhookSettings } from './webhooks/webhooks';

export interface ApiDependencies {
  consent: ConsentClient;
  client: Client;
  pool: Pool;
  namespace: string;
  taskQueue: string;
  /** pino logger for request logs; silent when absent (tests) */
  logger?: FastifyBaseLogger;
  /**
   * Bearer keys for /v1 with their scopes: parsed (loadConfig), or API_KEYS entries as written (`name:scopes:key`, or
   * bare). Undefined or empty: no key needed, every scope open (main.ts then listens on loopback only).
   */
  apiKeys?: readonly (ApiKey | string)[];
  /** the providers' webhook secrets; a provider without one gets no route */
  webhooks?: WebhookSettings;
  /** the campaign routes' client; default one on the same client, task queue, pool and DEFAULT_COUNTRY */
  campaigns?: CampaignClient;
  /** DEFAULT_COUNTRY, for the default campaign client; default US */
  defaultCountry?: string;
  /** EVENT_SUBSCRIPTIONS: their deliveries are started once the API is ready */
  eventSubscriptions?: EventSubscriptionRouteOptions['configured'];
}

/** A webhook body is a few hundred bytes; 64 KiB leaves room for long texts and still stops abuse early. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;
/** A suppression list of a million numbers is about 15 MiB; 32 MiB allows extra columns. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

/** Columns of the opt-out list's CSV export, in order; the first is what an import reads back. */
export const OPT_OUT_CSV_COLUMNS = ['phone', 'optedOutAt', 'businessNumber', 'source', 'recordedBy', 'reference', 'note'] as const;

const RECEIVED_AT_NOTE =
  `receivedAt was not a real instant within ${RECEIVED_AT_MAX_BEHIND_MS / 86_400_000} days before and ${RECEIVED_AT_MAX_AHEAD_MS / 60_000} minutes after ` +
  'the engine received the text: the engine used its own clock, and keeps the claim as evidence';

/** A multipart body the parser could not read (no boundary, cut short, bad part headers) is the client's to fix. */
function multipartInputError(error: unknown): Error {
  const { statusCode } = error as { statusCode?: number };
  if (typeof statusCode === 'number' && statusCode < 500) return error as Error;
  return new InvalidInputError([
    { field: 'file', message: `the multipart body could not be read (${error instanceof Error ? error.message : String(error)}): send the CSV as the multipart field "file"` },
  ]);
}

const NO_REMOVAL_REASON =
  "an opt-out cannot be removed by an operator, an API call or a signal: only the contact's own START, texted from their phone, lifts it (consent-rules.md)";

export function buildApiServer({ consent, client, pool, namespace, taskQueue, logger, apiKeys, webhooks, campaigns, defaultCountry, eventSubscriptions }: ApiDependencies): FastifyInstance {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: MAX_REQUEST_BODY_BYTES,
    // Unique across processes and restarts, so a client's requestId finds its log lines.
    genReqId: () => randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const { schemas } = consent;
  // Without keys too: a /v1 route with no scope in ROUTE_SCOPES is refused either way.
  app.decorateRequest('apiKeyName', null);
  app.addHook('onRequest', requireApiKey(apiKeys ?? []));

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      return reply.status(400).send({
        error: 'invalid_request',
        issues: error.validation.map((issue) => ({
          field: issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || `(${error.validationContext ?? 'body'})`,
          message: issue.message,
        })),
      });
    }
    if (error instanceof InvalidInputError) {
      return reply.status(400).send({ error: 'invalid_request', issues: error.issues });
    }
    if (error instanceof ConsentRefusedError) {
      return reply.status(422).send({ error: 'consent_refused', rule: error.rule, reason: error.reason });
    }
    if (error instanceof NotFoundError) {
      return reply.status(404).send({ error: 'not_found', message: error.message });
    }
    // Not the client's fault: the details go to the log under the request id, never to the client.
    if (error instanceof ContactStateUnavailableError) {
      request.log.warn({ err: error, requestId: request.id }, 'contact state unavailable');
      return reply.status(503).send({
        error: 'state_unavailable',
        message: "the contact's consent state could not be read in time; nothing was changed or sent: retry",
        requestId: request.id,
      });
    }
    const { statusCode } = error as { statusCode?: number };
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const code = statusCode === 413 ? 'body_too_large' : statusCode === 415 ? 'unsupported_media_type' : 'invalid_request';
      return reply.status(statusCode).send({ error: code, message: (error as Error).message });
    }
    if (isDependencyUnavailable(error)) {
      request.log.warn({ err: error, requestId: request.id }, 'request failed: a dependency is unavailable');
      return reply
        .status(503)
        .header('retry-after', '5')
        .send({ error: 'service_unavailable', message: 'a dependency of the service is unavailable; retry shortly', requestId: request.id });
    }
    request.log.error({ err: error, requestId: request.id }, 'request failed');
    return reply.status(500).send({ error: 'internal_error', message: 'internal error', requestId: request.id });
  });

  // While closing (SIGTERM), a response ends its keep-alive connection; otherwise close() waits for the client to hang up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.get('/healthz', async (_request, reply) => {
    const report = await checkHealth(client, pool, namespace, taskQueue);
    return reply.status(report.ok ? 200 : 503).send(report);
  });

  app.register(webhookRoutes, { consent, outbox: new OutboundMessages(pool), settings: webhooks ?? {} });

  // Validated once, by handleInbound itself: a second parse of the settled message would drop what settling noted
  // (the claimed receivedAt, the original text), since a caller may not set those.
  app.post('/v1/inbound', async (request, reply) => {
    // The key's name travels with the text, so the ledger can say which client delivered each START.
    const accepted = await consent.handleInbound(request.body as Parameters<ConsentClient['handleInbound']>[0], {
      channel: { kind: 'api', key: request.apiKeyName },
    });
    return reply.status(202).send({
      contact: accepted.contact,
      workflowId: accepted.workflowId,
      messageId: accepted.message.messageId,
      receivedAt: accepted.message.receivedAt,
      // What the engine had to change to keep the text: said, never silent.
      ...(accepted.message.receivedAtClaimed !== undefined
        ? { receivedAtClaimed: accepted.message.receivedAtClaimed, receivedAtNote: RECEIVED_AT_NOTE }
        : {}),
      ...(accepted.message.originalBody ? { bodyNormalised: accepted.message.originalBody.changed } : {}),
      ...(accepted.message.bodyTruncatedFrom !== undefined ? { bodyTruncatedFrom: accepted.message.bodyTruncatedFrom } : {}),
      // A possible number today's metadata does not know (a new range): accepted and delivered, and flagged.
      ...(accepted.message.unverifiedNumber ? { unverifiedNumber: true } : {}),
      classification: accepted.classification,
      // Temporal could not take it: kept in Postgres (an opt-out listed and in force) until the backlog's drain delivers it.
      ...(accepted.queued ? { queued: accepted.queued } : {}),
    });
  });

  app.get('/v1/contacts/:phone', { schema: { params: schemas.contactParams } }, async (request) =>
    consent.getContactState(request.params.phone),
  );

  app.get(
    '/v1/contacts/:phone/can-send',
    { schema: { params: schemas.contactParams, querystring: schemas.canSend } },
    async (request) => consent.canSend(request.params.phone, request.query),
  );

  app.get('/v1/contacts/:phone/messages', { schema: { params: schemas.contactParams } }, async (request) => ({
    contact: request.params.phone,
    messages: await consent.listMessages(request.params.phone),
  }));

  /**
   * 201 sent; 422 refused with its code (OPTED_OUT, NO_CONSENT, MISSING_DISCLOSURES, FREQUENCY_CAP, STATE_MESSAGE_LIMIT,
   * QUIET_HOURS, IN_FLIGHT_LIMIT); 503 STATE_UNAVAILABLE (not sent); 502 failed at the provider; 202 OUTCOME_UNKNOWN
   * (it may have been sent) or held for quiet hours (it goes when the window opens, unless refused then).
   */
  app.post('/v1/messages', { schema: { body: schemas.sendMessage } }, async (request, reply) => {
    const answer = await consent.sendMessage(request.body);
    const status =
      answer.status === 'sent' ? 201 : answer.status === 'failed' ? 502 : answer.status === 'unknown' || answer.status === 'held' ? 202 : answer.code === 'STATE_UNAVAILABLE' ? 503 : 422;
    return reply.status(status).send(answer);
  });

  /** The review queue: contacts with open review flags, with the flagged texts. */
  app.get('/v1/reviews', { schema: { querystring: schemas.reviewList } }, async (request) => consent.listReviews(request.query));

  /** An operator's decision on one flag: `opt_out` (recorded as operator-recorded, with who decided) or `not_an_opt_out`. */
  app.post('/v1/reviews/:phone/resolve', { schema: { params: schemas.contactParams, body: schemas.resolveReviewBody } }, async (request) =>
    consent.resolveReview({ ...request.body, phone: request.params.phone }),
  );

  /** A message's state now, by its idempotency key: held messages say until when (consent-rules.md §9). */
  app.get('/v1/messages/:idempotencyKey', { schema: { params: schemas.messageParams } }, async (request) => consent.getMessage(request.params.idempotencyKey));

  app.post('/v1/consents', { schema: { body: schemas.recordConsent } }, async (request, reply) => {
    const recorded = await consent.recordConsent(request.body);
    return reply.status(202).send(recorded);
  });

  app.post('/v1/programs', { schema: { body: schemas.program } }, async (request, reply) =>
    reply.status(201).send(await consent.upsertProgram(request.body)),
  );

  app.get('/v1/programs', async () => ({ programs: await consent.listPrograms() }));

  app.get(
    '/v1/contacts/:phone/history',
    { schema: { params: schemas.contactParams, querystring: schemas.history } },
    async (request) => consent.getContactHistory(request.params.phone, request.query),
  );

  /** The opt-out list: JSON pages, or the whole filtered list as CSV with ?format=csv. */
  app.get('/v1/opt-outs', { schema: { querystring: schemas.optOutList } }, async (request, reply) => {
    if (request.query.format !== 'csv') return consent.listOptOuts(request.query);
    return sendCsvExport(request, reply, {
      entries: consent.exportOptOuts(request.query),
      columns: OPT_OUT_CSV_COLUMNS,
      fileName: 'opt-outs.csv',
      what: { export: 'opt-out' },
    });
  });

  /** 200 once the opt-out is in force (and says whether it is listed yet); 202 when it was queued durably instead. */
  app.post('/v1/opt-outs', { schema: { body: schemas.addOptOut } }, async (request, reply) => {
    const recorded = await consent.addOptOut(request.body);
    return reply.status(recorded.status === 'in_force' ? 200 : 202).send(recorded);
  });

  // §4: nothing removes an opt-out but the contact's own START. Say so rather than 404.
  app.route({
    method: ['DELETE', 'PUT', 'PATCH'],
    url: '/v1/opt-outs/:phone',
    handler: async (_request, reply) => reply.status(405).header('allow', 'GET, POST').send({ error: 'method_not_allowed', reason: NO_REMOVAL_REASON }),
  });
  app.delete('/v1/opt-outs', async (_request, reply) =>
    reply.status(405).header('allow', 'GET, POST').send({ error: 'method_not_allowed', reason: NO_REMOVAL_REASON }),
  );

  /** A suppression list as a CSV body (text/csv, options in the query string) or a multipart upload (field `file`). */
  app.register(async (imports) => {
    await imports.register(multipart, { limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 10 } });
    imports.addContentTypeParser(['text/csv', 'text/plain', 'application/csv'], { parseAs: 'string', bodyLimit: MAX_IMPORT_BYTES }, (_request, body, done) =>
      done(null, body),
    );
    imports.post('/v1/opt-outs/import', { bodyLimit: MAX_IMPORT_BYTES }, async (request, reply) => {
      const options: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
      let content: string | undefined;
      if (request.isMultipart()) {
        try {
          for await (const part of request.parts()) {
            if (part.type === 'file') {
              content = (await part.toBuffer()).toString('utf8');
              options.fileName ??= part.filename;
            } else {
              options[part.fieldname] = part.value;
            }
          }
        } catch (error) {
          throw multipartInputError(error);
        }
      } else if (typeof request.body === 'string') {
        content = request.body;
      }
      if (content === undefined) {
        throw new InvalidInputError([{ field: 'file', message: 'send the CSV as a text/csv body or as the multipart field "file"' }]);
      }
      const started = await consent.importSuppressionList(content, options as Parameters<ConsentClient['importSuppressionList']>[1]);
      return reply.status(202).send({ ...started, statusUrl: `/v1/opt-outs/imports/${started.importId}` });
    });
  });

  const campaignClient = campaigns ?? new CampaignClient({ client, taskQueue, pool, defaultCountry });
  app.register(campaignRoutes, { campaigns: campaignClient, maxBytes: MAX_IMPORT_BYTES });
  app.register(consolePlugin, { prefix: '/console', consent, campaigns: campaignClient, pool, namespace, apiKeys: apiKeys ?? [], maxImportBytes: MAX_IMPORT_BYTES, optOutCsvColumns: OPT_OUT_CSV_COLUMNS });
  app.register(eventSubscriptionRoutes, { client, pool, taskQueue, configured: eventSubscriptions });

  app.register(reportRoutes, { pool });

  app.get('/v1/opt-outs/imports/:importId', { schema: { params: schemas.importParams } }, async (request) =>
    consent.getSuppressionImport(request.params.importId),
  );

  return app;
}
