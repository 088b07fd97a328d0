/**
 * Bearer API keys on /v1, each with the scopes its holder needs: several keys at once so one can be rotated; a key
 * removed from the list is revoked. ROUTE_SCOPES says which scope each route needs, and is the only place that does.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseApiKeys, type ApiKey, type ApiKeyScope } from '../config';
import { secretDigest } from './secret-compare';

declare module 'fastify' {
  interface FastifyRequest {
    /** the name of the API key that passed (never the key); null outside /v1 and when the API runs without keys */
    apiKeyName: string | null;
  }
}

/** The routes behind keys. /healthz (probes) and /webhooks/* (provider signatures) stay outside. */
export const API_KEY_PROTECTED_PREFIX = '/v1/';

/**
 * The scope each /v1 route needs, by method and the route's pattern as registered. A /v1 route missing here is
 * refused to every key: a new route is closed until someone decides who may call it.
 */
export const ROUTE_SCOPES: Readonly<Record<string, ApiKeyScope>> = {
  // consent-rules.md §4: only the contact's own START lifts an opt-out, and this is where their texts come in.
  'POST /v1/inbound': 'inbound',

  'POST /v1/messages': 'send',
  'POST /v1/campaigns': 'send',
  'POST /v1/campaigns/:campaignId/pause': 'send',
  'POST /v1/campaigns/:campaignId/resume': 'send',
  'POST /v1/campaigns/:campaignId/cancel': 'send',

  'POST /v1/opt-outs': 'operator',
  'POST /v1/opt-outs/import': 'operator',
  'POST /v1/consents': 'operator',
  'POST /v1/programs': 'operator',
  'POST /v1/reviews/:phone/resolve': 'operator',
  // Consent events out: a subscription chooses where the engine sends contacts' opt-outs, and holds its secrets.
  'POST /v1/event-subscriptions': 'operator',
  'POST /v1/event-subscriptions/:subscriptionId/replay': 'operator',
  'GET /v1/event-subscriptions': 'operator',
  'GET /v1/event-subscriptions/:subscriptionId/deliveries': 'operator',
  // These only answer 405 (no opt-out is removed by an API call), but the answer is meant for an operator.
  'DELETE /v1/opt-outs/:phone': 'operator',
  'PUT /v1/opt-outs/:phone': 'operator',
  'PATCH /v1/opt-outs/:phone': 'operator',
  'DELETE /v1/opt-outs': 'operator',

  'GET /v1/contacts/:phone': 'read',
  'GET /v1/contacts/:phone/can-send': 'read',
  'GET /v1/contacts/:phone/messages': 'read',
  'GET /v1/messages/:idempotencyKey': 'read',
  'GET /v1/contacts/:phone/history': 'read',
  'GET /v1/opt-outs': 'read',
  'GET /v1/opt-outs/imports/:importId': 'read',
  'GET /v1/programs': 'read',
  'GET /v1/reviews': 'read',
  'GET /v1/campaigns/:campaignId': 'read',
  'GET /v1/campaigns/:campaignId/recipients': 'read',
  'GET /v1/reports/revocations': 'read',
};

/** The scope a route needs, or undefined when ROUTE_SCOPES has none. HEAD is GET without the body (Fastify adds it). */
export function routeScope(method: string, route: string): ApiKeyScope | undefined {
  const entry = `${method === 'HEAD' ? 'GET' : method} ${route}`;
  return Object.hasOwn(ROUTE_SCOPES, entry) ? ROUTE_SCOPES[entry] : undefined;
}

/**
 * The onRequest hook: 401 without a valid key, 403 when the key lacks the route's scope. Keys come parsed (loadConfig)
 * or as API_KEYS entries. Without keys (main.ts then listens on loopback only) every caller holds every scope.
 */
export function requireApiKey(apiKeys: readonly (ApiKey | string)[]) {
  const keys = parsedKeys(apiKeys);
  return async function checkApiKey(request: FastifyRequest, reply: FastifyReply) {
    // The matched route's pattern, not the raw URL: encodings or extra slashes can't route around the check.
    const route = request.routeOptions.url;
    if (!route?.startsWith(API_KEY_PROTECTED_PREFIX)) return;
    let key: ApiKey | undefined;
    if (keys.length > 0) {
      const presented = bearerToken(request.headers.authorization);
      if (presented === undefined) return unauthorized(reply, 'send an API key as "Authorization: Bearer <key>"');
      key = findApiKey(keys, presented);
      if (!key) return unauthorized(reply, 'the API key is not valid (revoked, or never issued)');
    }
    const scope = routeScope(request.method, route);
    if (!scope) {
      request.log.error({ method: request.method, route }, 'this /v1 route has no entry in ROUTE_SCOPES, so it is refused to every key');
      return forbidden(reply, `${request.method} ${route} has no scope assigned yet, so no API key may call it`);
    }
    if (key && !key.scopes.includes(scope)) {
      return forbidden(reply, `this API key (${key.name}) lacks the "${scope}" scope that ${request.method} ${route} needs`);
    }
    request.apiKeyName = key?.name ?? null;
  };
}

/** The key presented, compared with every key as SHA-256 digests in constant time (the /v1 check and the console's sign-in). */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const given = secretDigest(presented);
  // Compare with every key, without stopping at a match, so the time taken says nothing about which one it was.
  return keys.reduce<ApiKey | undefined>((found, candidate) => (timingSafeEqual(given, candidate.digest) ? candidate : found), undefined);
}

/** Keys as the API takes them: parsed by loadConfig, or API_KEYS entries as written. */
export function parsedKeys(apiKeys: readonly (ApiKey | string)[]): ApiKey[] {
  const { keys, problems } = parseApiKeys(apiKeys.filter((key): key is string => typeof key === 'string'));
  if (problems.length > 0) throw new Error(`invalid API keys:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  return [...apiKeys.filter((key): key is ApiKey => typeof key !== 'string'), ...keys];
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function unauthorized(reply: FastifyReply, message: string) {
  return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message });
}

function forbidden(reply: FastifyReply, message: string) {
  return reply.status(403).send({ error: 'forbidden', message });
}
