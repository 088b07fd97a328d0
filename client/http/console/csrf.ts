/**
 * Cross-site request forgery: every console POST carries a token bound to the session (an HMAC of its sid under a key
 * of the server's), in the form's `_csrf` field or, from htmx, the `x-csrf-token` header; and a request whose Origin
 * (or Sec-Fetch-Site) says it came from another site is refused whatever it carries. The sign-in form, which has no
 * session yet, uses a double-submit token: a random value in a cookie and the same in the form.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { formValues } from './context';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** The sign-in form's double-submit cookie. */
export const SIGN_IN_CSRF_COOKIE = 'console_sign_in';

export class CsrfTokens {
  constructor(private readonly key: Buffer) {}

  /** The token of a session's forms: the same for every form of the session, useless for any other. */
  forSession(sid: string): string {
    return createHmac('sha256', this.key).update(`session:${sid}`).digest('base64url');
  }

  /** A fresh value for the sign-in form and its cookie. */
  newSignInToken(): string {
    return randomBytes(24).toString('base64url');
  }

  matches(expected: string, given: string | undefined): boolean {
    if (!given) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** The token a request carries: the htmx header, else the form field (urlencoded, or a multipart field). */
export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers[CSRF_HEADER];
  if (typeof header === 'string' && header.length > 0) return header;
  return formValues(request.body)[CSRF_FIELD];
}

/**
 * Why the request looks cross-site, or undefined. Browsers send Origin with every POST; one naming another origin than
 * the console's own is refused, and so is `Sec-Fetch-Site: cross-site`. A request with neither (curl, an old
 * browser) still needs its token.
 */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (typeof origin === 'string') {
    const own = `${request.protocol}://${request.host}`;
    if (origin !== own) return `the request came from ${origin === 'null' ? 'an opaque origin' : origin}, not from the console (${own})`;
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') return 'the browser says the request came from another site';
  return undefined;
}
