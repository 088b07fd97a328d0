/** What every console page shares: the clients it reads through, its sessions and tokens, and how a page is rendered. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { CampaignClient } from '../../campaigns';
import type { ConsentClient } from '../../consent-client';
import type { CsrfTokens } from './csrf';
import type { ConsoleSession, ConsoleSessions } from './session';

declare module 'fastify' {
  interface FastifyRequest {
    /** the signed-in operator's session; null on the sign-in page and the assets */
    consoleSession: ConsoleSession | null;
  }
  interface FastifyContextConfig {
    /** a console route that needs no session (sign-in, assets) */
    consolePublic?: boolean;
  }
}

/** The pages of the navigation, in order: `nav` names the current one (aria-current). */
export const CONSOLE_NAV = [
  { id: 'opt-outs', path: '/opt-outs', label: 'Opt-out list' },
  { id: 'imports', path: '/imports', label: 'Suppression import' },
  { id: 'reviews', path: '/reviews', label: 'Review queue' },
  { id: 'campaigns', path: '/campaigns', label: 'Campaigns' },
  { id: 'programs', path: '/programs', label: 'Programs' },
  { id: 'revocations', path: '/reports/revocations', label: 'Revocation report' },
] as const;
export type ConsoleNavId = (typeof CONSOLE_NAV)[number]['id'] | 'contact' | 'sign-in' | 'error';

export interface PageData {
  title: string;
  nav: ConsoleNavId;
  [field: string]: unknown;
}

export interface ConsoleContext {
  consent: ConsentClient;
  campaigns: CampaignClient;
  pool: Pool;
  namespace: string;
  /** the Temporal Web UI, without a trailing slash */
  temporalUiUrl: string;
  maxImportBytes: number;
  optOutCsvColumns: readonly string[];
  sessions: ConsoleSessions;
  csrf: CsrfTokens;
  /** the console's path prefix (/console) */
  base: string;
  /** a whole page, in the layout */
  render(request: FastifyRequest, reply: FastifyReply, template: string, data: PageData, status?: number): Promise<FastifyReply>;
  /** a fragment for htmx to swap in, without the layout */
  renderPartial(request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status?: number): Promise<FastifyReply>;
}

/** An htmx request (not a boosted navigation): answered with a fragment. */
export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true' && request.headers['hx-boosted'] !== 'true';
}

/** The signed-in session of a route behind the session check. */
export function sessionOf(request: FastifyRequest): ConsoleSession {
  if (!request.consoleSession) throw new Error('console route reached without a session');
  return request.consoleSession;
}

/** A form body's fields as strings: empty fields are undefined, so optional ones stay optional. */
export function formValues(body: unknown): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  if (!body || typeof body !== 'object') return values;
  for (const [name, raw] of Object.entries(body as Record<string, unknown>)) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    const value = typeof first === 'string' ? first : first && typeof first === 'object' && typeof (first as { value?: unknown }).value === 'string' ? (first as { value: string }).value : undefined;
    values[name] = value === undefined || value.trim() === '' ? undefined : value;
  }
  return values;
}

/** Every value of a repeated form field (checkboxes). */
export function formList(body: unknown, name: string): string[] {
  if (!body || typeof body !== 'object') return [];
  const raw = (body as Record<string, unknown>)[name];
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((value): value is string => typeof value === 'string' && value.length > 0);
}
