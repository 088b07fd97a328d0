/** Picks the SMS provider named by configuration (SMS_PROVIDER). */
import type { Pool } from 'pg';
import type { Environment } from '../../client/config';
import type { SmsProvider } from './provider';
import { createSandboxProvider } from './sandbox';
import { createTwilioProvider } from './twilio';

export function createProvider(env: Environment, pool: Pool): SmsProvider {
  if (env.SMS_PROVIDER === 'twilio') {
    if (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN) {
      throw new Error('SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
    }
    return createTwilioProvider({
      accountSid: env.TWILIO_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN,
      baseUrl: env.TWILIO_BASE_URL,
      messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID,
      statusCallbackUrl: env.TWILIO_STATUS_CALLBACK_URL,
    });
  }
  return createSandboxProvider(pool);
}
