/** The outbox: one row per outbound message, keyed by its idempotency key. */
import type { Pool } from 'pg';
import { storableText } from '../../workflows/domain/storable';
import { FINAL_DELIVERY_STATUSES } from '../providers/provider';

export type OutboundStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'refused';

export interface OutboundMessageRecord {
  id: string;
  idempotencyKey: string;
  contact: string;
  businessNumber: string;
  kind: string;
  body: string;
  provider: string;
  providerMessageId: string | null;
  status: OutboundStatus;
  providerStatus: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  inboundMessageId: string | null;
  messageType: string | null;
  program: string | null;
  refusalCode: string | null;
  workflowId: string | null;
  runId: string | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, idempotency_key AS "idempotencyKey", contact, business_number AS "businessNumber", kind, body, provider,
  provider_message_id AS "providerMessageId", status, provider_status AS "providerStatus", error_code AS "errorCode",
  error_message AS "errorMessage", attempts, inbound_message_id AS "inboundMessageId", message_type AS "messageType",
  program, refusal_code AS "refusalCode", workflow_id AS "workflowId",
  run_id AS "runId", to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

/** What a caller records: the record's own fields, before the outbox assigns id, status and timestamps. */
export type NewOutboundMessage = Pick<
  OutboundMessageRecord,
  'idempotencyKey' | 'contact' | 'businessNumber' | 'kind' | 'body' | 'provider' | 'inboundMessageId' | 'workflowId' | 'runId'
> &
  Partial<Pick<OutboundMessageRecord, 'messageType' | 'program'>>;

/** A provider's delivery-status callback, read into the outbox's terms. */
export interface DeliveryStatusUpdate {
  /** the provider's id for the message, as `markSent` stored it */
  providerMessageId: string;
  /** the provider's own status word (delivered, undelivered, delivery_failed, ...) */
  providerStatus: string;
  /** set for failed deliveries only */
  errorCode: string | null;
}

export class OutboundMessages {
  constructor(private readonly pool: Pool) {}

  /** Records the message once; a retry with the same key gets the existing row back, whatever its status. */
  async claim(message: NewOutboundMessage): Promise<OutboundMessageRecord> {
    const { rows } = await this.pool.query<OutboundMessageRecord>(
      `WITH inserted AS (
         INSERT INTO outbound_messages (idempotency_key, contact, business_number, kind, body, provider, status,
                                        inbound_message_id, workflow_id, run_id, message_type, program)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *)
       SELECT ${COLUMNS} FROM inserted
       UNION ALL
       SELECT ${COLUMNS} FROM outbound_messages WHERE idempotency_key = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      // The edges keep NUL and lone surrogates out already; a row that cannot be written would retry for a day.
      [
        message.idempotencyKey,
        message.contact,
        message.businessNumber,
        message.kind,
        message.body,
        message.provider,
        message.inboundMessageId,
        message.workflowId,
        message.runId,
        message.messageType ?? null,
        message.program ?? null,
      ].map((value) => (typeof value === 'string' ? storableText(value) : value)),
    );
    return rows[0]!;
  }

  /** The decision to send is taken: from here a retry re-sends the stored body with the same key, without re-deciding. */
  async markSending(id: string, body?: string): Promise<void> {
    await this.pool.query(
      `UPDATE outbound_messages SET status = 'sending', body = COALESCE($2, body), attempts = attempts + 1, updated_at = now()
       WHERE id = $1`,
      [id, body ?? null],
    );
  }

  async markRefused(id: string, code: string, reason: string): Promise<void> {
    await this.pool.query(
      `UPDATE outbound_messages SET status = 'refused', refusal_code = $2, error_message = $3, updated_at = now() WHERE id = $1`,
      [id, code, reason],
    );
  }

  async markSent(id: string, providerMessageId: string, providerStatus: string): Promise<void> {
    await this.pool.query(
      `UPDATE outbound_messages SET status = 'sent', provider_message_id = $2, provider_status = $3,
         error_code = NULL, error_message = NULL, updated_at = now() WHERE id = $1`,
      [id, providerMessageId, providerStatus],
    );
  }

  /** `final` false keeps the row retryable ('sending' stays the truth until a later attempt settles it). */
  async markError(id: string, code: string, message: string, final: boolean): Promise<void> {
    await this.pool.query(
      `UPDATE outbound_messages SET status = CASE WHEN $4 THEN 'failed' ELSE status END,
         error_code = $2, error_message = $3, updated_at = now() WHERE id = $1`,
      [id, code, message, final],
    );
  }

  /**
   * Records where the provider is with a message it accepted. False when no row took it: a message this engine
   * did not send, or a status older than a final one already recorded.
   */
  async recordDeliveryStatus({ providerMessageId, providerStatus, errorCode }: DeliveryStatusUpdate): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE outbound_messages SET provider_status = $2, error_code = COALESCE($3, error_code), updated_at = now()
       WHERE provider_message_id = $1
         AND ($2 = ANY($4::text[]) OR provider_status IS NULL OR NOT (provider_status = ANY($4::text[])))`,
      [providerMessageId, providerStatus, errorCode, FINAL_DELIVERY_STATUSES],
    );
    return (rowCount ?? 0) > 0;
  }

  /** What the engine sent (or tried to send) to one contact, newest first. */
  async findByKey(idempotencyKey: string): Promise<OutboundMessageRecord | undefined> {
    const { rows } = await this.pool.query<OutboundMessageRecord>(`SELECT ${COLUMNS} FROM outbound_messages WHERE idempotency_key = $1`, [idempotencyKey]);
    return rows[0];
  }

  async listForContact(contact: string, limit = 100): Promise<OutboundMessageRecord[]> {
    const { rows } = await this.pool.query<OutboundMessageRecord>(
      `SELECT ${COLUMNS} FROM outbound_messages WHERE contact = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [contact, limit],
    );
    return rows;
  }
}
