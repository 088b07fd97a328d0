/**
 * The console in a real browser: Debian's chromium driven by playwright-core, against the API listening on a real
 * socket in front of a test harness. Screenshots go to test-results/console/ (not committed).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ApiDependencies } from '../../client/http/server';
import { buildTestApi, startHarness, type Harness } from './harness';

/** Debian's package (`apt-get install chromium`); .ci/run installs it. CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'test-results', 'console');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`);
  }
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}

export interface ListeningApi {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  close(): Promise<void>;
}

/** The API over a real socket (the browser needs one), with the given keys; the console is at `${origin}/console`. */
export async function listenTestApi(harness: Harness, access: Pick<ApiDependencies, 'apiKeys'> = {}): Promise<ListeningApi> {
  const app = await buildTestApi(harness, harness.taskQueue, access);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, origin: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** A page of its own (own cookies), with a default timeout that allows for a loaded 2-core machine. */
export async function newConsolePage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the form, as an operator would. */
export async function signIn(page: Page, origin: string, { key, operator = 'Dana Operator' }: { key?: string; operator?: string }): Promise<void> {
  await page.goto(`${origin}/console/sign-in`);
  if (key !== undefined) await page.getByLabel('API key').fill(key);
  await page.getByLabel('Your name or e-mail').fill(operator);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

/** A full-page screenshot of what the test sees, named for the page and the moment. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** One test file's signed-in console: a harness, chromium, the API on a socket, and a page signed in with an operator key. */
export interface SignedInConsole {
  harness: Harness;
  browser: Browser;
  api: ListeningApi;
  context: BrowserContext;
  page: Page;
  stop(): Promise<void>;
}

export async function startSignedInConsole(operator: string): Promise<SignedInConsole> {
  const key = `ops-${randomUUID()}`;
  const harness = await startHarness();
  const browser = await launchBrowser();
  const api = await listenTestApi(harness, { apiKeys: [`ops:operator+read:${key}`] });
  const { context, page } = await newConsolePage(browser);
  await signIn(page, api.origin, { key, operator });
  return {
    harness,
    browser,
    api,
    context,
    page,
    async stop() {
      await context.close();
      await browser.close();
      await api.close();
      await harness.stop();
    },
  };
}
