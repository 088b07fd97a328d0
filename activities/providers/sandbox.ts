/** The default provider: delivers nowhere, records every message in Postgres, honours idempotency keys like a real one. */
import type { Pool } from 'pg';
import type { OutboundSms, ProviderSendResult, SmsProvider } from './provider';

export function createSandboxProvider(pool: Pool): SmsProvider {
  return {
    name: 'sandbox',
    async send(message: OutboundSms): Promise<ProviderSendResult> {
      const { rows } = await pool.query<{ providerMessageId: string }>(
        `INSERT INTO sandbox_messages (idempotency_key, provider_message_id, to_number, from_number, body)
         VALUES ($1, 'SB' || replace(gen_random_uuid()::text, '-', ''), $2, $3, $4)
         ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
         RETURNING provider_message_id AS "providerMessageId"`,
        [message.idempotencyKey, message.to, message.from, message.body],
      );
      return { providerMessageId: rows[0]!.providerMessageId, status: 'delivered' };
    },
  };
}
