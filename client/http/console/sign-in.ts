/** Sign-in with an operator API key (or, without API keys, a name only), and sign-out. */
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formValues, sessionOf, type ConsoleContext } from './context';
import { SIGN_IN_CSRF_COOKIE } from './csrf';
import { SESSION_COOKIE, SESSION_ENDED, SESSION_LIFETIME_MS, type SessionEndReason } from './session';

/**
 * The session cookie: script cannot read it (HttpOnly), no other site's request carries it (SameSite=Strict), it goes
 * over TLS only when the console is served over TLS (request.protocol, which honours a trusted proxy's
 * X-Forwarded-Proto when the server trusts one), and only to the console's paths.
 */
export function sessionCookieOptions(request: FastifyRequest, base: string, maxAgeMs = SESSION_LIFETIME_MS): CookieSerializeOptions {
  return { path: base, httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', maxAge: Math.floor(maxAgeMs / 1000) };
}

/** Only a path of the console itself: a sign-in link cannot send the operator elsewhere. */
function safeNext(base: string, next: string | undefined): string {
  if (next && next.startsWith(`${base}/`) && !next.startsWith('//') && !/[\\\u0000-\u001f]/.test(next) && !next.startsWith(`${base}/sign-`)) return next;
  return `${base}/opt-outs`;
}

export function signInPages(app: FastifyInstance, context: ConsoleContext): void {
  const { sessions, csrf, base } = context;

  async function signInForm(request: FastifyRequest, reply: Parameters<ConsoleContext['render']>[1], data: { error?: string; next?: string; reason?: string }, status = 200) {
    // The double-submit token of this form, in a cookie only the sign-in path receives.
    const token = csrf.newSignInToken();
    reply.setCookie(SIGN_IN_CSRF_COOKIE, token, { ...sessionCookieOptions(request, `${base}/sign-in`, 60 * 60 * 1000) });
    const reason = data.reason && Object.hasOwn(SESSION_ENDED, data.reason) ? SESSION_ENDED[data.reason as SessionEndReason] : null;
    return context.render(request, reply, 'sign-in', { title: 'Sign in', nav: 'sign-in', signInToken: token, error: data.error ?? null, reason, next: data.next ?? '' }, status);
  }

  app.get('/sign-in', { config: { consolePublic: true } }, async (request, reply) => {
    const query = request.query as { next?: string; reason?: string };
    // Already signed in (a bookmark, the back button): straight on.
    const checked = sessions.check(request.cookies[SESSION_COOKIE]);
    if ('session' in checked) return reply.redirect(safeNext(base, query.next), 303);
    return signInForm(request, reply, { next: query.next, reason: query.reason });
  });

  app.post('/sign-in', { config: { consolePublic: true } }, async (request, reply) => {
    const { key, operator, next } = formValues(request.body);
    const result = sessions.signIn(key, operator);
    if (!result.ok) {
      request.log.warn({ status: result.status, requestId: request.id }, 'console sign-in refused');
      return signInForm(request, reply, { error: result.message, next }, result.status);
    }
    reply.setCookie(SESSION_COOKIE, sessions.seal(result.session), sessionCookieOptions(request, base));
    reply.clearCookie(SIGN_IN_CSRF_COOKIE, { path: `${base}/sign-in` });
    request.log.info({ keyName: result.session.keyName, requestId: request.id }, 'console sign-in');
    return reply.redirect(safeNext(base, next), 303);
  });

  app.post('/sign-out', async (request, reply) => {
    sessions.end(sessionOf(request));
    reply.clearCookie(SESSION_COOKIE, { path: base });
    return reply.redirect(`${base}/sign-in?reason=signed_out`, 303);
  });
}
