/** The default provider: delivers nowhere, records every message in Postgres, one row per idempotency key. */
import type { Pool } from 'pg';
import type { OutboundSms, ProviderSendResult, SmsProvider } from './provider';

/** What the sandbox says of every message it took: it delivers nowhere, instantly. */
const SANDBOX_STATUS = 'delivered';

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
      return { providerMessageId: rows[0]!.providerMessageId, status: SANDBOX_STATUS };
    },
    /** By to, from and body since `since`, as a provider without idempotency keys would be asked; the newest wins. */
    async findSent(message: OutboundSms, since: Date): Promise<ProviderSendResult | undefined> {
      const { rows } = await pool.query<{ providerMessageId: string }>(
        `SELECT provider_message_id AS "providerMessageId" FROM sandbox_messages
         WHERE to_number = $1 AND from_number = $2 AND body = $3 AND created_at >= $4
         ORDER BY created_at DESC LIMIT 1`,
        [message.to, message.from, message.body, since],
      );
      return rows[0] ? { providerMessageId: rows[0].providerMessageId, status: SANDBOX_STATUS } : undefined;
    },
  };
}
