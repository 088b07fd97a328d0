/**
 * The operator console at /console: server-rendered pages (eta templates through @fastify/view), htmx for the parts
 * that update in place, served by the API's own process. Every page reads and writes through the client library
 * (ConsentClient, CampaignClient), as the HTTP API does; no page removes an opt-out (consent-rules.md §4).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import view from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { ApiKey } from '../../config';
import type { CampaignClient } from '../../campaigns';
import { ConsentRefusedError, ContactStateUnavailableError, InvalidInputError, NotFoundError, type ConsentClient } from '../../consent-client';
import { campaignPages } from './campaign-pages';
import { contactPage } from './contact-page';
import { CONSOLE_NAV, isHtmx, type ConsoleContext, type PageData } from './context';
import { CsrfTokens, crossSiteReason, presentedToken, SIGN_IN_CSRF_COOKIE } from './csrf';
import { importPages } from './import-pages';
import { optOutPages } from './opt-out-pages';
import { programPages } from './program-pages';
import { reportPage } from './report-page';
import { reviewPages } from './review-pages';
import { ConsoleSessions, SESSION_COOKIE, type SessionEndReason } from './session';
import { loadConsoleSettings } from './settings';
import { signInPages } from './sign-in';

export interface ConsoleOptions {
  consent: ConsentClient;
  campaigns: CampaignClient;
  pool: Pool;
  namespace: string;
  /** the API's keys; empty: the API runs without keys on loopback, and so does the console (it asks only a name) */
  apiKeys: readonly (ApiKey | string)[];
  /** the largest suppression list an upload may be (the API's own limit) */
  maxImportBytes: number;
  /** the opt-out list's CSV columns (the API's own export) */
  optOutCsvColumns: readonly string[];
  /** default CONSOLE_SESSION_SECRET, else a random secret for this process */
  sessionSecret?: string;
  /** default TEMPORAL_UI_URL, else http://localhost:8233 */
  temporalUiUrl?: string;
}

/**
 * The folder beside this module (`npm run build` copies it into dist/), or else the same folder in the source tree.
 */
function consoleFolder(name: 'views' | 'assets'): string {
  const beside = path.join(__dirname, name);
  if (existsSync(beside)) return beside;
  return path.resolve(__dirname, '..', '..', '..', '..', 'client', 'http', 'console', name);
}

/** Pages hold personal data (numbers, texts): no caching, no framing, no scripts or styles but our own. */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const ASSETS: Record<string, { file: string; type: string; content?: Buffer }> = {
  'htmx.min.js': { file: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'console.css': { file: path.join(consoleFolder('assets'), 'console.css'), type: 'text/css; charset=utf-8' },
};

export async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const settings = loadConsoleSettings();
  const sessions = new ConsoleSessions(options.apiKeys, options.sessionSecret ?? settings.sessionSecret);
  const csrf = new CsrfTokens(sessions.csrfKey);
  const base = app.prefix;

  await app.register(cookie);
  await app.register(formbody);
  await app.register(view, { engine: { eta: new Eta({ views: consoleFolder('views'), autoEscape: true }) }, root: consoleFolder('views') });
  app.decorateRequest('consoleSession', null);

  const context: ConsoleContext = {
    consent: options.consent,
    campaigns: options.campaigns,
    pool: options.pool,
    namespace: options.namespace,
    temporalUiUrl: (options.temporalUiUrl ?? settings.temporalUiUrl).replace(/\/+$/, ''),
    maxImportBytes: options.maxImportBytes,
    optOutCsvColumns: options.optOutCsvColumns,
    sessions,
    csrf,
    base,
    render: renderTemplate,
    renderPartial: renderTemplate,
  };

  // A page and a fragment render alike: a page's template puts itself in the layout, a fragment's does not.
  async function renderTemplate(request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status = 200) {
    const html = await reply.viewAsync(template, { ...commonData(request), ...data });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  }

  function commonData(request: FastifyRequest): Record<string, unknown> {
    const session = request.consoleSession;
    return {
      base,
      session,
      csrfToken: session ? csrf.forSession(session.sid) : null,
      open: sessions.open,
      navigation: CONSOLE_NAV,
      issues: [],
      notice: null,
    };
  }

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(PAGE_HEADERS);
  });

  // Who is asking: every route but sign-in and the assets needs a session whose key still holds the operator scope.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.consolePublic) return;
    const checked = sessions.check(request.cookies[SESSION_COOKIE]);
    if ('session' in checked) {
      request.consoleSession = checked.session;
      return;
    }
    const reason: SessionEndReason | undefined = 'ended' in checked ? checked.ended : undefined;
    if (reason) reply.clearCookie(SESSION_COOKIE, { path: base });
    const signIn = `${base}/sign-in?${new URLSearchParams({ ...(request.method === 'GET' ? { next: request.url } : {}), ...(reason ? { reason } : {}) })}`;
    if (isHtmx(request)) return reply.code(401).header('hx-redirect', signIn).send();
    return reply.redirect(signIn, 303);
  });

  // CSRF: a POST from another site, or without the token of its session (or of the sign-in form), changes nothing.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const crossSite = crossSiteReason(request);
    const token = presentedToken(request);
    const session = request.consoleSession;
    const expected = session ? csrf.forSession(session.sid) : request.cookies[SIGN_IN_CSRF_COOKIE];
    let problem = crossSite;
    if (!problem && !expected) problem = 'the sign-in form had no token cookie (are cookies blocked?)';
    if (!problem && !csrf.matches(expected!, token)) problem = token ? 'the form carried a token that is not this session\'s' : 'the form carried no token';
    if (!problem) return;
    request.log.warn({ route: request.routeOptions.url, problem, requestId: request.id }, 'console request refused by the CSRF check');
    const data: PageData = {
      title: 'Request refused',
      nav: 'error',
      status: 403,
      heading: 'Request refused: nothing was changed',
      message: `This request did not come from a console form of your session (${problem}). Nothing was changed. Go back, reload the page and try again.`,
    };
    return isHtmx(request) ? context.renderPartial(request, reply, 'partials/notice', { kind: 'error', message: data.message }, 403) : context.render(request, reply, 'error', data, 403);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => consoleError(context, error, request, reply));
  app.setNotFoundHandler(async (request, reply) =>
    context.render(request, reply, 'error', { title: 'Not found', nav: 'error', status: 404, heading: 'Not found', message: `There is no console page at ${request.url}.` }, 404),
  );

  app.get('/assets/:name', { config: { consolePublic: true } }, async (request, reply) => {
    const asset = ASSETS[(request.params as { name: string }).name];
    if (!asset) return reply.code(404).type('text/plain').send('no such asset');
    // Served from the API itself (no CDN): the console works offline. Assets are public and never personal.
    asset.content ??= await readFile(asset.file);
    return reply.header('cache-control', 'public, max-age=3600').type(asset.type).send(asset.content);
  });

  app.get('/', async (_request, reply) => reply.redirect(`${base}/opt-outs`, 303));

  signInPages(app, context);
  optOutPages(app, context);
  await importPages(app, context);
  contactPage(app, context);
  campaignPages(app, context);
  programPages(app, context);
  reviewPages(app, context);
  reportPage(app, context);
}

/** Errors as pages (or, for htmx, as a notice in place): the caller's mistakes say what to fix, ours only a request id. */
async function consoleError(context: ConsoleContext, error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let status = 500;
  let heading = 'Something went wrong';
  let message = `The console could not do that (request ${request.id}); nothing is known to have changed. Try again, and give the request id if it persists.`;
  let issues: { field: string; message: string }[] = [];
  if (error instanceof InvalidInputError) {
    status = 400;
    heading = 'Check what you entered';
    message = 'Some fields need fixing:';
    issues = error.issues;
  } else if (error instanceof ConsentRefusedError) {
    status = 422;
    heading = 'Refused';
    message = error.reason;
  } else if (error instanceof NotFoundError) {
    status = 404;
    heading = 'Not found';
    message = error.message;
  } else if (error instanceof ContactStateUnavailableError) {
    status = 503;
    heading = 'Temporarily unavailable';
    message = `The contact's state could not be read in time (is a worker running?); nothing was changed. Try again (request ${request.id}).`;
  } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    status = error.statusCode;
    heading = status === 413 ? 'Too large' : status === 409 ? 'Not possible now' : 'Refused';
    message = error.message;
  }
  if (status >= 500) request.log.error({ err: error, requestId: request.id }, 'console request failed');
  if (isHtmx(request)) return context.renderPartial(request, reply, 'partials/notice', { kind: 'error', message, issues }, status);
  return context.render(request, reply, 'error', { title: heading, nav: 'error', status, heading, message, issues }, status);
}

