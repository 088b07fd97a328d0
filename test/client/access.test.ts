import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../client/config';
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
    expect(access({ NODE_ENV: 'production', HOST: '0.0.0.0', API_KEYS: `${KEY_A}, ${KEY_B}` })).toMatchObject({ host: '0.0.0.0', apiKeys: [KEY_A, KEY_B], warnings: [] });
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
