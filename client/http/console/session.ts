/**
 * Console sessions: an operator signs in with an API key that holds the `operator` scope, and gets a cookie that says
 * who they are, never the key. The cookie is `{ sid, key name, key fingerprint, operator, expires }` signed with
 * HMAC-SHA256 under the server's secret; every request checks the signature, the expiry, and that a key of that name
 * and fingerprint still holds the operator scope, so removing a key from API_KEYS ends its sessions.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../../config';
import { findApiKey, parsedKeys } from '../api-keys';

/** The scope the console needs: the one that lets an operator add opt-outs, import lists and declare programs. */
export const CONSOLE_SCOPE = 'operator' as const;
/** A working day: an operator signs in again the next morning. */
export const SESSION_LIFETIME_MS = 8 * 60 * 60 * 1000;
export const SESSION_COOKIE = 'console_session';
/** The key name of sessions opened while the API runs without API_KEYS (loopback only). */
export const OPEN_CONSOLE_KEY_NAME = 'local';
/** How much of a name the ledger keeps (recordedBy is at most 200 characters with the key's name). */
export const MAX_OPERATOR_NAME = 100;

export interface ConsoleSession {
  /** random per sign-in: what the CSRF token is bound to, and what sign-out ends */
  sid: string;
  /** the API key's name; OPEN_CONSOLE_KEY_NAME when the API runs without keys */
  keyName: string;
  /** a keyed hash of the key's digest (null without keys): a new key under the same name does not inherit old sessions */
  keyFingerprint: string | null;
  /** the name the operator gave at sign-in, recorded with what they do */
  operator: string;
  /** epoch milliseconds */
  expiresAt: number;
}

export type SignInResult = { ok: true; session: ConsoleSession } | { ok: false; status: 400 | 401 | 403; message: string };
/** Why a session the browser still holds no longer counts: shown on the sign-in page it is sent to. */
export const SESSION_ENDED = {
  expired: 'Your session expired: sign in again.',
  signed_out: 'You signed out.',
  revoked: 'Your session ended: its API key was removed from API_KEYS (revoked). Sign in with a current operator key.',
  scope: `Your session ended: its API key no longer has the "${CONSOLE_SCOPE}" scope.`,
  reconfigured: "The API's keys changed since you signed in: sign in again.",
} as const;
export type SessionEndReason = keyof typeof SESSION_ENDED;

export type SessionCheck = { session: ConsoleSession } | { ended: SessionEndReason } | { none: true };

export class ConsoleSessions {
  private readonly keys: ApiKey[];
  private readonly signingKey: Buffer;
  /** what the CSRF tokens are derived from: a key of its own, so a token never doubles as a session signature */
  readonly csrfKey: Buffer;
  /** sessions signed out before they expired, by sid (this process only), until their expiry */
  private readonly ended = new Map<string, number>();

  /** `secret` undefined: a random one for this process (sessions end when it restarts, and do not cross processes). */
  constructor(apiKeys: readonly (ApiKey | string)[], secret: string | undefined, private readonly lifetimeMs = SESSION_LIFETIME_MS) {
    this.keys = parsedKeys(apiKeys);
    const root = secret ?? randomBytes(32).toString('hex');
    this.signingKey = derivedKey(root, 'console-session');
    this.csrfKey = derivedKey(root, 'console-csrf');
  }

  /** Without API keys the API runs on loopback only and needs no key; the console does the same and says so. */
  get open(): boolean {
    return this.keys.length === 0;
  }


  signIn(presented: string | undefined, operatorName: string | undefined, now = Date.now()): SignInResult {
    const operator = (operatorName ?? '').trim();
    if (operator.length === 0) return { ok: false, status: 400, message: 'Give your name or e-mail: the ledger records it with every change you make.' };
    if (operator.length > MAX_OPERATOR_NAME || /[\u0000-\u001f\u007f]/.test(operator)) {
      return { ok: false, status: 400, message: `Your name must be at most ${MAX_OPERATOR_NAME} characters, without control characters.` };
    }
    const base = { sid: randomBytes(18).toString('base64url'), operator, expiresAt: now + this.lifetimeMs };
    if (this.open) return { ok: true, session: { ...base, keyName: OPEN_CONSOLE_KEY_NAME, keyFingerprint: null } };
    const key = findApiKey(this.keys, presented?.trim() ?? '');
    if (!key) return { ok: false, status: 401, message: 'That API key is not valid (revoked, or never issued). Nothing was signed in.' };
    if (!key.scopes.includes(CONSOLE_SCOPE)) {
      return {
        ok: false,
        status: 403,
        message: `This API key (${key.name}) does not have the "${CONSOLE_SCOPE}" scope, which the console needs. Sign in with an operator key (API_KEYS entry name:operator+read:key).`,
      };
    }
    return { ok: true, session: { ...base, keyName: key.name, keyFingerprint: this.fingerprint(key) } };
  }

  /** The cookie's value: the session, base64url JSON, and its signature. */
  seal(session: ConsoleSession): string {
    const payload = Buffer.from(JSON.stringify([1, session.sid, session.keyName, session.keyFingerprint, session.operator, session.expiresAt])).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The session a cookie carries, if its signature holds, it has not expired or been signed out, and its key still may. */
  check(cookie: string | undefined, now = Date.now()): SessionCheck {
    if (!cookie) return { none: true };
    const [payload, signature, ...rest] = cookie.split('.');
    if (!payload || !signature || rest.length > 0) return { none: true };
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { none: true };
    const session = unpack(payload);
    if (!session) return { none: true };
    if (session.expiresAt <= now) return { ended: 'expired' };
    if (this.ended.has(session.sid)) return { ended: 'signed_out' };
    if (this.open) return session.keyFingerprint === null ? { session } : { ended: 'reconfigured' };
    if (session.keyFingerprint === null) return { ended: 'reconfigured' };
    const key = this.keys.find((candidate) => candidate.name === session.keyName && this.fingerprint(candidate) === session.keyFingerprint);
    if (!key) return { ended: 'revoked' };
    if (!key.scopes.includes(CONSOLE_SCOPE)) return { ended: 'scope' };
    return { session };
  }

  /** Sign-out: the browser drops the cookie, and this process refuses it until it would have expired anyway. */
  end(session: ConsoleSession, now = Date.now()): void {
    for (const [sid, expiresAt] of this.ended) if (expiresAt <= now) this.ended.delete(sid);
    this.ended.set(session.sid, session.expiresAt);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.signingKey).update(payload).digest('base64url');
  }

  private fingerprint(key: ApiKey): string {
    return createHmac('sha256', this.signingKey).update('key:').update(key.digest).digest('base64url').slice(0, 22);
  }
}

/** What the ledger records as who did it: the operator's name and the key they signed in with. */
export function recordedBy(session: ConsoleSession, operatorName?: string): string {
  const name = (operatorName ?? '').trim() || session.operator;
  return `${name.slice(0, MAX_OPERATOR_NAME)} (console, key ${session.keyName})`;
}

function derivedKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(purpose).digest();
}

function unpack(payload: string): ConsoleSession | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value[0] !== 1) return undefined;
    const [, sid, keyName, keyFingerprint, operator, expiresAt] = value as unknown[];
    if (typeof sid !== 'string' || typeof keyName !== 'string' || typeof operator !== 'string' || typeof expiresAt !== 'number') return undefined;
    if (keyFingerprint !== null && typeof keyFingerprint !== 'string') return undefined;
    return { sid, keyName, keyFingerprint, operator, expiresAt };
  } catch {
    return undefined;
  }
}
