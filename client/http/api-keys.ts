/** Bearer API keys on /v1: several keys at once so one can be rotated; a key removed from the list is revoked. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { secretDigest } from './secret-compare';

/** The routes behind keys. /healthz (probes) and /webhooks/* (provider signatures) stay outside. */
export const API_KEY_PROTECTED_PREFIX = '/v1/';

export function requireApiKey(apiKeys: readonly string[]) {
  const digests = apiKeys.map(secretDigest);
  return async function checkApiKey(request: FastifyRequest, reply: FastifyReply) {
    // The matched route's pattern, not the raw URL: encodings or extra slashes can't route around the check.
    if (!request.routeOptions.url?.startsWith(API_KEY_PROTECTED_PREFIX)) return;
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) return unauthorized(reply, 'send an API key as "Authorization: Bearer <key>"');
    const given = secretDigest(presented);
    // Compare with every key, without stopping at a match, so the time taken says nothing about which one it was.
    const known = digests.reduce((found, digest) => timingSafeEqual(given, digest) || found, false);
    if (!known) return unauthorized(reply, 'the API key is not valid (revoked, or never issued)');
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function unauthorized(reply: FastifyReply, message: string) {
  return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message });
}
