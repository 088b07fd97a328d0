/** The outbox: one row per outbound message, keyed by its idempotency key. */
import type { Pool } from 'pg';
import { storableText } from '../../workflows/domain/storable';
import { FINAL_DELIVERY_STATUSES } from '../providers/provider';

export type OutboundStatus = 'pending' | 'held' | 'sending' | 'sent' | 'failed' | 'refused';

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
  /** messages only: no provider call may begin after this (the caller's decision deadline); null: none */
  decideBy: string | null;
  /** when an attempt last began handing it to the provider; null: none did */
  sendingSince: string | null;
  /** held for quiet hours until then (status `held`); null otherwise */
  heldUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, idempotency_key AS "idempotencyKey", contact, business_number AS "businessNumber", kind, body, provider,
  provider_message_id AS "providerMessageId", status, provider_status AS "providerStatus", error_code AS "errorCode",
  error_message AS "errorMessage", attempts, inbound_message_id AS "inboundMessageId", message_type AS "messageType",
  program, refusal_code AS "refusalCode", workflow_id AS "workflowId",
  run_id AS "runId",
  to_char(decide_by AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "decideBy",
  to_char(sending_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "sendingSince",
  to_char(held_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "heldUntil",
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

/** What a caller records: the record's own fields, before the outbox assigns id, status and timestamps. */
export type NewOutboundMessage = Pick<
  OutboundMessageRecord,
  'idempotencyKey' | 'contact' | 'businessNumber' | 'kind' | 'body' | 'provider' | 'inboundMessageId' | 'workflowId' | 'runId'
> &
  Partial<Pick<OutboundMessageRecord, 'messageType' | 'program' | 'decideBy'>>;

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
                                        inbound_message_id, workflow_id, run_id, message_type, program, decide_by)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12::timestamptz)
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
        message.decideBy ?? null,
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

  /**
   * The gate's last step before the provider: the row becomes `sending` only if no one refused it meanwhile (a caller
   * that stopped waiting fences it) and its decision deadline has not passed, by the database's clock. False: the
   * message must not be handed over; the row says why.
   */
  /**
   * Held for quiet hours: the caller is answered "held" and stops waiting, so its deadline no longer fences the row.
   * False when the caller fenced it first (its deadline passed before the hold), or it was settled meanwhile.
   */
  async markHeld(id: string, heldUntil: string, reason: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE outbound_messages SET status = 'held', held_until = $2::timestamptz, error_message = $3, decide_by = NULL, updated_at = now()
       WHERE id = $1 AND status IN ('pending', 'held') AND (decide_by IS NULL OR now() < decide_by)`,
      [id, heldUntil, storableText(reason)],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Held messages whose send will never be decided again (their campaign was cancelled): refused CANCELLED, so the
   * outbox no longer says "held". Returns the rows it withdrew; a retry withdraws nothing twice.
   */
  async withdrawHeld(keyPrefix: string, reason: string): Promise<OutboundMessageRecord[]> {
    const { rows } = await this.pool.query<OutboundMessageRecord>(
      `UPDATE outbound_messages SET status = 'refused', refusal_code = 'CANCELLED', error_message = $2, held_until = NULL, updated_at = now()
       WHERE status = 'held' AND starts_with(idempotency_key, $1) RETURNING ${COLUMNS}`,
      [keyPrefix, storableText(reason)],
    );
    return rows;
  }

  async beginSending(id: string, body: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE outbound_messages SET status = 'sending', body = $2, attempts = attempts + 1, sending_since = now(), held_until = NULL, updated_at = now()
       WHERE id = $1 AND status IN ('pending', 'held', 'sending') AND (decide_by IS NULL OR now() < decide_by)`,
      [id, storableText(body)],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * A caller that stopped waiting for a decision refuses the message, unless an attempt already began handing it
   * over: then the row says so and the answer is the truth (sent, failed, or not known yet). The row is created
   * refused when no attempt has claimed it yet, so a late first attempt finds it refused too.
   */
  async fence(message: NewOutboundMessage, code: string, reason: string): Promise<{ record: OutboundMessageRecord; fenced: boolean }> {
    const claimed = await this.claim(message);
    const { rows } = await this.pool.query<OutboundMessageRecord>(
      `UPDATE outbound_messages SET status = 'refused', refusal_code = $2, error_message = $3, updated_at = now()
       WHERE id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
      [claimed.id, code, storableText(reason)],
    );
    if (rows[0]) return { record: rows[0], fenced: true };
    return { record: (await this.findByKey(message.idempotencyKey)) ?? claimed, fenced: false };
  }

  async markRefused(id: string, code: string, reason: string): Promise<void> {
    await this.pool.query(
      // A row already settled (or fenced by its caller) keeps what its caller was told.
      `UPDATE outbound_messages SET status = 'refused', refusal_code = $2, error_message = $3, updated_at = now()
       WHERE id = $1 AND status IN ('pending', 'held', 'sending')`,
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
