import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, loadConfig } from '../../client/config';
import { LOOPBACK_HOST, resolveApiAccess } from '../../client/http/access';
import { createLogger } from '../../client/logger';

const KEY_A = 'k-aaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'k-bbbbbbbbbbbbbbbbbbbbbbbb';
/** base64 of 32 raw bytes, the form the Telnyx portal shows */
const TELNYX_KEY = Buffer.alloc(32, 7).toString('base64');

const access = (source: Record<string, string>) => resolveApiAccess(loadConfig(source).env);

describe('production refuses to start open', () => {
  it('NODE_ENV=production without API_KEYS is a configuration error naming API_KEYS', () => {
    expect(() => access({ NODE_ENV: 'production', HOST: '0.0.0.0' })).toThrow(/invalid configuration:[\s\S]*NODE_ENV=production needs API_KEYS/);
  });

  it('NODE_ENV=production with API_KEYS listens where HOST says', () => {
    expect(access({ NODE_ENV: 'production', HOST: '0.0.0.0', API_KEYS: `crm:send:${KEY_A}, sms-gw:inbound:${KEY_B}` })).toMatchObject({
      host: '0.0.0.0',
      apiKeys: [{ name: 'crm' }, { name: 'sms-gw' }],
      warnings: [],
    });
  });

  it('NODE_ENV=production with SMS_PROVIDER=twilio needs TWILIO_AUTH_TOKEN (the webhook secret)', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', API_KEYS: KEY_A, SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'ACtest' })).toThrow(/TWILIO_AUTH_TOKEN/);
  });

  it('a webhook provider listed without its secret is refused, in production or not', () => {
    for (const NODE_ENV of ['production', 'development']) {
      expect(() => access({ NODE_ENV, API_KEYS: KEY_A, WEBHOOK_PROVIDERS: 'telnyx' })).toThrow(/telnyx webhook \(WEBHOOK_PROVIDERS\) needs TELNYX_PUBLIC_KEY/);
      expect(() => access({ NODE_ENV, API_KEYS: KEY_A, WEBHOOK_PROVIDERS: 'twilio' })).toThrow(/twilio webhook \(WEBHOOK_PROVIDERS\) needs TWILIO_AUTH_TOKEN/);
    }
  });

  it('every problem is named at once', () => {
    expect(() => access({ NODE_ENV: 'production', WEBHOOK_PROVIDERS: 'telnyx' })).toThrow(/TELNYX_PUBLIC_KEY[\s\S]*API_KEYS/);
  });
});

describe('without API keys', () => {
  it('the API listens on loopback only, whatever HOST says, and says so', () => {
    const open = access({ HOST: '0.0.0.0' });
    expect(open).toMatchObject({ host: LOOPBACK_HOST, apiKeys: [] });
    expect(open.warnings).toEqual([expect.stringMatching(/API_KEYS is not set.*127\.0\.0\.1 only instead of HOST=0\.0\.0\.0/)]);
  });
});

const sha256 = (value: string) => createHash('sha256').update(value).digest();
const apiKeys = (API_KEYS: string) => loadConfig({ API_KEYS }).env.API_KEYS;

describe('API_KEYS', () => {
  it('reads name:scopes:key entries, scopes joined with +, keeping only the digest of each key', () => {
    expect(apiKeys(`crm:send+read:${KEY_A},sms-gw:inbound:${KEY_B}`)).toEqual([
      { name: 'crm', scopes: ['send', 'read'], digest: sha256(KEY_A), bare: false },
      { name: 'sms-gw', scopes: ['inbound'], digest: sha256(KEY_B), bare: false },
    ]);
  });

  it("takes every ':' after the scopes as part of the key, ignores spaces and empty entries, and reads a repeated scope once", () => {
    expect(apiKeys(` ops_team:operator+operator:${KEY_A}:x , ,`)).toEqual([{ name: 'ops_team', scopes: ['operator'], digest: sha256(`${KEY_A}:x`), bare: false }]);
  });

  it('lets two keys share a name, so a client can be rotated to a new key under its name', () => {
    expect(apiKeys(`crm:send:${KEY_A},crm:send:${KEY_B}`).map((key) => key.name)).toEqual(['crm', 'crm']);
  });

  it('reads a bare key, as before scopes, with every scope, named by the first 12 hex digits of its SHA-256', () => {
    expect(apiKeys(KEY_A)).toEqual([{ name: sha256(KEY_A).toString('hex').slice(0, 12), scopes: [...API_KEY_SCOPES], digest: sha256(KEY_A), bare: true }]);
  });

  it('warns at start about each bare key, by its digest name: it opens every scope, including inbound, which can lift an opt-out', () => {
    const { warnings } = access({ API_KEYS: `crm:send:${KEY_A},${KEY_B}` });
    expect(warnings).toEqual([expect.stringContaining(`bare key (named ${sha256(KEY_B).toString('hex').slice(0, 12)}`)]);
    expect(warnings[0]).toMatch(/every scope, including inbound, which can lift an opt-out.*name:scopes:key.*crm:send\+read:<key>/);
    expect(warnings[0]).not.toContain(KEY_B);
  });

  it.each([
    ['one colon', 'crm:send', "entry 1: has one ':'"],
    ['an empty name', `:send:${KEY_A}`, 'entry 1: the name'],
    ['a name with a space', `c rm:send:${KEY_A}`, 'entry 1: the name'],
    ['a name of 65 characters', `${'n'.repeat(65)}:send:${KEY_A}`, 'entry 1: the name'],
    ['no scope', `crm::${KEY_A}`, 'entry 1: names no scope'],
    ['an unknown scope', `crm:sned-typo:${KEY_A}`, 'entry 1: scope 1 (between the first and second \':\') is not one of inbound, send, operator, read'],
    ['an empty scope after +', `crm:send+:${KEY_A}`, 'entry 1: scope 2 '],
    ['a named key under 16 characters', 'crm:send:short-sekrit', 'entry 1: the key must be at least 16 characters'],
    ['a bare key under 16 characters', 'short-sekrit', 'entry 1: the key must be at least 16 characters'],
    ['a key with a space', `crm:send:${KEY_A} ${KEY_B}`, 'entry 1: the key may not contain spaces'],
    ['the same key twice', `crm:send:${KEY_A},${KEY_A}`, 'entry 2: the same key as entry 1'],
    ['a bad entry after an empty one', `${KEY_A},,crm:send`, "entry 3: has one ':'"],
  ])('%s fails at start, naming the entry and the reason', (_case, API_KEYS, reason) => {
    expect(() => loadConfig({ API_KEYS })).toThrow(`invalid configuration:\n  API_KEYS: ${reason}`);
  });

  it('names every bad entry at once, and quotes none of them', () => {
    const error = (() => {
      try {
        loadConfig({ API_KEYS: `crm:sned-typo:${KEY_A},${KEY_B},short-sekrit` });
      } catch (thrown) {
        return thrown as Error;
      }
      throw new Error('loadConfig accepted bad API_KEYS');
    })();
    expect(error.message).toMatch(/API_KEYS: entry 1: scope 1[\s\S]*API_KEYS: entry 3: the key must be/);
    for (const secret of ['sned-typo', KEY_A, KEY_B, 'sekrit']) expect(error.message).not.toContain(secret);
  });
});

describe('webhook configuration', () => {
  it('SMS_PROVIDER=twilio serves the Twilio webhook by default, with the auth token and PUBLIC_BASE_URL', () => {
    const twilio = access({ SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'ACtest', TWILIO_AUTH_TOKEN: 'token', PUBLIC_BASE_URL: 'https://sms.example.com' });
    expect(twilio.webhooks).toMatchObject({ twilioAuthToken: 'token', publicBaseUrl: 'https://sms.example.com', telnyxPublicKey: undefined });
  });

  it('a Twilio auth token alone does not open the Twilio webhook when WEBHOOK_PROVIDERS leaves it out', () => {
    expect(access({ TWILIO_AUTH_TOKEN: 'token', WEBHOOK_PROVIDERS: 'telnyx', TELNYX_PUBLIC_KEY: TELNYX_KEY }).webhooks).toMatchObject({ twilioAuthToken: undefined });
  });

  it("TELNYX_PUBLIC_KEY in the portal's form becomes an Ed25519 key", () => {
    expect(access({ WEBHOOK_PROVIDERS: 'telnyx', TELNYX_PUBLIC_KEY: TELNYX_KEY }).webhooks.telnyxPublicKey?.asymmetricKeyType).toBe('ed25519');
  });

  it.each([
    ['a key that is not 32 bytes', { TELNYX_PUBLIC_KEY: Buffer.alloc(31).toString('base64') }, 'TELNYX_PUBLIC_KEY'],
    ['a PUBLIC_BASE_URL that is not http(s)', { PUBLIC_BASE_URL: 'sms.example.com' }, 'PUBLIC_BASE_URL'],
    ['an unknown webhook provider', { WEBHOOK_PROVIDERS: 'bandwidth' }, 'WEBHOOK_PROVIDERS'],
    ['an API key too short to be secret', { API_KEYS: `${KEY_A},short` }, 'API_KEYS'],
  ])('%s is refused, naming the variable', (_case, source, variable) => {
    expect(() => loadConfig(source)).toThrow(new RegExp(`invalid configuration:\\n  ${variable}`));
  });

  it('an API key that is refused is not echoed in the error', () => {
    expect(() => loadConfig({ API_KEYS: 'sekrit-short' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('sekrit') }));
  });
});

describe('API logs', () => {
  it('never carry the Authorization header or a provider signature', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => { lines.push(String(chunk)); done(); } });
    const logger = createLogger('info', 'api', sink);
    const headers = { authorization: `Bearer ${KEY_A}`, 'x-twilio-signature': 'twilio-sig-value', 'telnyx-signature-ed25519': 'telnyx-sig-value', host: 'sms.example.com' };
    logger.info({ req: { headers } }, 'request');
    logger.info({ headers }, 'webhook');
    const output = lines.join('');
    expect(output).toContain('sms.example.com');
    for (const secret of [KEY_A, 'twilio-sig-value', 'telnyx-sig-value']) expect(output).not.toContain(secret);
  });
});
