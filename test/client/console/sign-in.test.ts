import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieOptions } from '../../../client/http/console/sign-in';
import { launchBrowser, listenTestApi, newConsolePage, screenshot, signIn, type ListeningApi } from '../../support/browser';
import { startHarness, uniquePhone, type Harness } from '../../support/harness';

/** The DOM that functions run in the page (page.evaluate) use: this project compiles against Node's types only. */
interface PageElement {
  tagName: string;
  id: string;
  textContent: string | null;
  labels?: ArrayLike<{ textContent: string | null }> | null;
  getBoundingClientRect(): { top: number };
  append(...nodes: unknown[]): void;
  submit(): void;
}
declare const document: { activeElement: PageElement | null; cookie: string; body: PageElement; createElement(tag: string): PageElement };
declare function getComputedStyle(element: PageElement): { outlineStyle: string; outlineWidth: string };

const OPERATOR_KEY = `ops-console-${randomUUID()}`;
const READ_KEY = `dash-console-${randomUUID()}`;
const API_KEYS = [`ops:operator+read:${OPERATOR_KEY}`, `dashboard:read:${READ_KEY}`];

let harness: Harness;
let browser: Browser;
let api: ListeningApi;
beforeAll(async () => {
  harness = await startHarness();
  browser = await launchBrowser();
  api = await listenTestApi(harness, { apiKeys: API_KEYS });
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await harness?.stop();
});

/** Whether the contact's actor exists at all: a refused request must not even start one. */
async function actorExists(phone: string): Promise<boolean> {
  try {
    await harness.client.workflow.getHandle(`contact:${phone}`).describe();
    return true;
  } catch {
    return false;
  }
}

describe('signing in', () => {
  it('an operator key signs in; the session cookie is HttpOnly, SameSite=Strict, for /console only, not Secure over plain HTTP, and holds no key', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await page.goto(`${api.origin}/console/opt-outs`);
      // Not signed in: sent to the sign-in page, which comes back here afterwards.
      expect(new URL(page.url()).pathname).toBe('/console/sign-in');
      await screenshot(page, 'sign-in');
      await page.getByLabel('API key').fill(OPERATOR_KEY);
      await page.getByLabel('Your name or e-mail').fill('Dana Operator');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${api.origin}/console/opt-outs`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Opt-out list');
      expect(await page.locator('.who').textContent()).toContain('Dana Operator');

      const cookie = (await context.cookies()).find((each) => each.name === 'console_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/console' });
      expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 7 * 3600);
      const [payload] = cookie!.value.split('.');
      const decoded = Buffer.from(payload!, 'base64url').toString('utf8');
      expect(decoded).toContain('"ops"');
      expect(`${cookie!.value} ${decoded}`).not.toContain(OPERATOR_KEY);
      // Script cannot read it.
      expect(await page.evaluate(() => document.cookie)).not.toContain('console_session');
    } finally {
      await context.close();
    }
  });

  it('the cookie is Secure when the request came over TLS (request.protocol, which honours a trusted proxy)', () => {
    expect(sessionCookieOptions({ protocol: 'https' } as FastifyRequest, '/console')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'strict', path: '/console' });
    expect(sessionCookieOptions({ protocol: 'http' } as FastifyRequest, '/console')).toMatchObject({ secure: false });
  });

  it('a wrong key is refused with a clear message, and no session is set', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, api.origin, { key: `not-a-key-${randomUUID()}` });
      const alert = page.getByRole('alert');
      expect(await alert.textContent()).toContain('That API key is not valid (revoked, or never issued)');
      await screenshot(page, 'sign-in-wrong-key');
      expect((await context.cookies()).some((each) => each.name === 'console_session')).toBe(false);
      const response = await page.goto(`${api.origin}/console/opt-outs`);
      expect(new URL(response!.url()).pathname).toBe('/console/sign-in');
    } finally {
      await context.close();
    }
  });

  it('a valid key without the operator scope is refused, naming the scope it lacks', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, api.origin, { key: READ_KEY });
      expect(await page.getByRole('alert').textContent()).toContain('This API key (dashboard) does not have the "operator" scope');
      await screenshot(page, 'sign-in-no-operator-scope');
      expect((await context.cookies()).some((each) => each.name === 'console_session')).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('signing out ends the session: the same cookie, presented again, opens nothing', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, api.origin, { key: OPERATOR_KEY });
      const cookie = (await context.cookies()).find((each) => each.name === 'console_session')!;
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/console\/sign-in\?reason=signed_out/);
      expect(await page.getByRole('status').first().textContent()).toContain('You signed out.');
      expect((await context.cookies()).some((each) => each.name === 'console_session')).toBe(false);
      // A copy of the cookie kept from before (another tab, a stolen one) is refused too.
      const replay = await api.app.inject({ url: '/console/opt-outs', headers: { cookie: `console_session=${cookie.value}` } });
      expect(replay.statusCode).toBe(303);
      expect(replay.headers.location).toContain('/console/sign-in');
    } finally {
      await context.close();
    }
  });

  it('a key removed from API_KEYS, or stripped of its operator scope, ends its sessions at the next request', async () => {
    const secret = randomUUID() + randomUUID();
    const previous = process.env.CONSOLE_SESSION_SECRET;
    process.env.CONSOLE_SESSION_SECRET = secret;
    const before = await listenTestApi(harness, { apiKeys: API_KEYS });
    // The same secret (as a restart with CONSOLE_SESSION_SECRET set), with the ops key revoked, then only read-scoped.
    const revoked = await listenTestApi(harness, { apiKeys: [`dashboard:read:${READ_KEY}`] });
    const narrowed = await listenTestApi(harness, { apiKeys: [`ops:read:${OPERATOR_KEY}`] });
    if (previous === undefined) delete process.env.CONSOLE_SESSION_SECRET;
    else process.env.CONSOLE_SESSION_SECRET = previous;
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, before.origin, { key: OPERATOR_KEY });
      const cookie = (await context.cookies()).find((each) => each.name === 'console_session')!;
      const still = await before.app.inject({ url: '/console/opt-outs', headers: { cookie: `console_session=${cookie.value}` } });
      expect(still.statusCode).toBe(200);
      for (const [app, reason] of [
        [revoked.app, 'revoked'],
        [narrowed.app, 'scope'],
      ] as const) {
        const response = await app.inject({ url: '/console/opt-outs', headers: { cookie: `console_session=${cookie.value}` } });
        expect(response.statusCode).toBe(303);
        expect(response.headers.location).toContain(`reason=${reason}`);
        // The browser is told to drop it.
        expect(String(response.headers['set-cookie'])).toMatch(/console_session=;/);
      }
      await page.goto(`${revoked.origin}/console/opt-outs`);
      expect(await page.getByRole('status').first().textContent()).toContain('its API key was removed from API_KEYS (revoked)');
      await screenshot(page, 'sign-in-session-revoked');
    } finally {
      await context.close();
      await Promise.all([before.close(), revoked.close(), narrowed.close()]);
    }
  });

  it('without API keys (loopback only, as the API) the console asks for no key, only a name, and says it is open', async () => {
    const open = await listenTestApi(harness);
    const { context, page } = await newConsolePage(browser);
    try {
      await page.goto(`${open.origin}/console/sign-in`);
      expect(await page.getByLabel('API key').count()).toBe(0);
      await signIn(page, open.origin, { operator: 'Local Dev' });
      expect(await page.getByRole('note').textContent()).toContain('The API runs without API_KEYS');
      expect(await page.locator('.who').textContent()).toContain('(key local)');
      await screenshot(page, 'open-console-opt-outs');
    } finally {
      await context.close();
      await open.close();
    }
  });
});

describe('cross-site request forgery', () => {
  it('a POST without the token, or with a forged one, is 403 and records nothing; the same with the token is 200', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, api.origin, { key: OPERATOR_KEY });
      const token = await page.locator('#add-opt-out input[name="_csrf"]').inputValue();
      const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
        page.request.post(`${api.origin}/console/opt-outs`, { form, headers: { origin: api.origin, ...headers }, maxRedirects: 0 });

      const withoutToken = uniquePhone();
      const missing = await post({ phone: withoutToken, operator: 'Mallory' });
      expect(missing.status()).toBe(403);
      expect(await missing.text()).toContain('nothing was changed');

      // The same in the browser: a plain form (no htmx header) posted with a forged token lands on the refusal page.
      const inBrowser = uniquePhone();
      await page.evaluate(
        ({ action, phone }) => {
          const form = Object.assign(document.createElement('form'), { method: 'post', action });
          for (const [name, value] of Object.entries({ phone, operator: 'Mallory', _csrf: 'forged-token' })) form.append(Object.assign(document.createElement('input'), { type: 'hidden', name, value }));
          document.body.append(form);
          form.submit();
        },
        { action: `${api.origin}/console/opt-outs`, phone: inBrowser },
      );
      await page.getByRole('heading', { name: 'Request refused: nothing was changed' }).waitFor();
      await screenshot(page, 'csrf-refused');

      const forged = uniquePhone();
      const wrong = await post({ phone: forged, operator: 'Mallory', _csrf: `${token.slice(0, -4)}AAAA` });
      expect(wrong.status()).toBe(403);
      // htmx sends it as a header: a forged header is refused the same way.
      const wrongHeader = await post({ phone: forged, operator: 'Mallory' }, { 'x-csrf-token': 'forged', 'hx-request': 'true' });
      expect(wrongHeader.status()).toBe(403);

      // The right token from another site's page is still refused: Origin names that site.
      const crossSite = uniquePhone();
      const fromElsewhere = await post({ phone: crossSite, operator: 'Mallory', _csrf: token }, { origin: 'http://evil.example' });
      expect(fromElsewhere.status()).toBe(403);

      for (const phone of [withoutToken, forged, crossSite, inBrowser]) {
        expect(await actorExists(phone)).toBe(false);
        expect((await harness.consent.getContactState(phone)).optedOut).toBe(false);
      }

      const honest = uniquePhone();
      const allowed = await post({ phone: honest, operator: 'Dana', _csrf: token });
      expect(allowed.status()).toBe(200);
      expect((await harness.consent.getContactState(honest)).optedOut).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("another site's auto-submitting form reaches the console without the session (SameSite=Strict), and records nothing", async () => {
    const { context, page } = await newConsolePage(browser);
    const victim = uniquePhone();
    // localhost and 127.0.0.1 are different sites to the browser.
    const consoleUrl = `${api.origin}/console/opt-outs`;
    const evil: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form id="f" method="post" action="${consoleUrl}"><input name="phone" value="${victim}"><input name="operator" value="Mallory"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      await signIn(page, api.origin, { key: OPERATOR_KEY });
      const answered = page.waitForResponse((response) => response.url() === consoleUrl && response.request().method() === 'POST');
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      const response = await answered;
      // No session cookie came with it: sent to sign in, nothing recorded.
      expect(response.status()).toBe(303);
      expect(await actorExists(victim)).toBe(false);
    } finally {
      await context.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });
});

describe('keyboard', () => {
  it('from the skip link through the navigation to the opt-out form, every main action is reached and used with the keyboard alone, with a visible focus ring', async () => {
    const { context, page } = await newConsolePage(browser);
    try {
      await signIn(page, api.origin, { key: OPERATOR_KEY });
      await page.keyboard.press('Tab');
      const focused = () =>
        page.evaluate(() => {
          const element = document.activeElement;
          const style = element ? getComputedStyle(element) : null;
          return {
            tag: element?.tagName.toLowerCase() ?? '',
            id: element?.id ?? '',
            text: (element?.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 60),
            label: (element?.labels?.[0]?.textContent ?? '').trim(),
            outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '',
            top: element?.getBoundingClientRect().top ?? -1,
          };
        });
      const skip = await focused();
      expect(skip).toMatchObject({ tag: 'a', text: 'Skip to main content' });
      expect(skip.top).toBeGreaterThanOrEqual(0);
      expect(skip.outline).toMatch(/^solid (3|[4-9])px$/);
      await screenshot(page, 'keyboard-skip-link');

      // Through the header: every page of the navigation is a real link on the way.
      const header: string[] = [];
      for (let step = 0; step < 14; step += 1) {
        await page.keyboard.press('Tab');
        header.push((await focused()).text);
      }
      for (const label of ['Opt-out list', 'Suppression import', 'Review queue', 'Campaigns', 'Programs', 'Revocation report', 'Open contact', 'Sign out']) {
        expect(header).toContain(label);
      }

      // The skip link moves focus past the header to the page's content.
      await page.reload();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      expect((await focused()).id).toBe('main');

      // Then, by Tab alone: the filter, the export, and the opt-out form, which the keyboard fills and submits.
      const reached: string[] = [];
      const phone = uniquePhone();
      // The list shows up to 50 contacts (each a link) before the form, whatever else the run put on it.
      for (let step = 0; step < 200; step += 1) {
        await page.keyboard.press('Tab');
        const now = await focused();
        reached.push(now.label || now.text);
        expect(now.outline, `focus ring on ${now.label || now.text}`).toMatch(/^solid (3|[4-9])px$/);
        if (now.id === 'add-phone') await page.keyboard.type(phone);
        if (now.id === 'add-note') await page.keyboard.type('asked on a call');
        if (now.tag === 'button' && now.text === 'Record opt-out') {
          await screenshot(page, 'keyboard-record-opt-out');
          await page.keyboard.press('Enter');
          break;
        }
      }
      expect(reached).toEqual(expect.arrayContaining(['Source', 'From (day, inclusive)', 'Before (day, not included)', 'Apply filter', 'Export these as CSV', "Contact's number", 'Your name', 'Record opt-out']));
      await page.getByRole('status').filter({ hasText: 'is opted out' }).waitFor();
      expect(await page.locator('#add-opt-out-result').textContent()).toContain(`${phone} is opted out`);
      expect((await harness.consent.getContactState(phone)).optedOut).toBe(true);
    } finally {
      await context.close();
    }
  });
});
