/**
 * Who may reach the API, decided once at start: /v1 behind API keys, or on loopback only; each webhook provider
 * with the secret that verifies it. A production deployment without keys refuses to start rather than run open.
 */
import type { ApiKey, Environment } from '../config';
import { telnyxPublicKey } from './webhooks/telnyx';
import type { WebhookSettings } from './webhooks/webhooks';

export const LOOPBACK_HOST = '127.0.0.1';

export interface ApiAccess {
  /** where to listen: HOST, or loopback when there are no API keys */
  host: string;
  apiKeys: ApiKey[];
  webhooks: WebhookSettings;
  /** for the start-up log */
  warnings: string[];
}

export function resolveApiAccess(env: Environment): ApiAccess {
  const problems: string[] = [];
  const twilio = env.WEBHOOK_PROVIDERS.includes('twilio');
  const telnyx = env.WEBHOOK_PROVIDERS.includes('telnyx');
  // A webhook route that cannot verify its provider would accept anyone's STOP or START: no route rather than that.
  if (twilio && !env.TWILIO_AUTH_TOKEN) problems.push('the twilio webhook (WEBHOOK_PROVIDERS) needs TWILIO_AUTH_TOKEN to verify X-Twilio-Signature');
  if (telnyx && !env.TELNYX_PUBLIC_KEY) problems.push('the telnyx webhook (WEBHOOK_PROVIDERS) needs TELNYX_PUBLIC_KEY to verify telnyx-signature-ed25519');
  if (env.NODE_ENV === 'production' && env.API_KEYS.length === 0) {
    problems.push('NODE_ENV=production needs API_KEYS: without them anyone who reaches the API could read contacts and send messages');
  }
  if (problems.length > 0) throw new Error(`invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);

  const webhooks: WebhookSettings = {
    publicBaseUrl: env.PUBLIC_BASE_URL,
    twilioAuthToken: twilio ? env.TWILIO_AUTH_TOKEN : undefined,
    telnyxPublicKey: telnyx && env.TELNYX_PUBLIC_KEY ? telnyxPublicKey(env.TELNYX_PUBLIC_KEY) : undefined,
    keywordReplies: { twilio: env.TWILIO_KEYWORD_REPLIES, telnyx: env.TELNYX_KEYWORD_REPLIES },
  };
  if (env.API_KEYS.length > 0) {
    return { host: env.HOST, apiKeys: env.API_KEYS, webhooks, warnings: env.API_KEYS.filter((key) => key.bare).map(bareKeyWarning) };
  }
  const ignored = env.HOST === LOOPBACK_HOST ? '' : ` instead of HOST=${env.HOST}`;
  return {
    host: LOOPBACK_HOST,
    apiKeys: [],
    webhooks,
    warnings: [`API_KEYS is not set: /v1 needs no key, so the API listens on ${LOOPBACK_HOST} only${ignored}; set API_KEYS to serve other hosts`],
  };
}

/** A key from before scopes keeps working, but it can lift opt-outs: say so at every start until it is scoped. */
function bareKeyWarning({ name }: ApiKey): string {
  return (
    `API_KEYS holds a bare key (named ${name}, the first hex digits of its SHA-256): it opens every scope, including inbound, ` +
    'which can lift an opt-out (a START posted to POST /v1/inbound); write it as name:scopes:key with only the scopes ' +
    'its client needs, e.g. crm:send+read:<key>, and inbound only for the SMS gateway'
  );
}
