/**
 * Consent events in Postgres (migration 009): the subscriptions, the event stream they read (consent_events, fed by
 * triggers from the ledger and campaign completion) and each subscription's delivery log.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import {
  type CampaignEventSource,
  type ConsentEventType,
  type EventSubscriptionDefinition,
  type StreamEvent,
  type StreamPosition,
  STREAM_START,
} from '../../workflows/domain/consent-events';
import { Campaigns } from './campaigns';

export type EventSubscriptionSource = 'config' | 'api';

export interface StoredEventSubscription extends EventSubscriptionDefinition {
  source: EventSubscriptionSource;
  active: boolean;
}

/** What the API shows of a subscription: never a secret, only a fingerprint of each, to tell them apart in a rotation. */
export interface EventSubscriptionView {
  id: string;
  url: string;
  events: ConsentEventType[];
  description: string | null;
  source: EventSubscriptionSource;
  active: boolean;
  secrets: { fingerprint: string }[];
  createdAt: string;
  updatedAt: string;
  /** the last event the subscriber answered 2xx for */
  deliveredThrough: { eventId: string; at: string } | null;
  lastAttempt: DeliveryAttempt | null;
}

export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  attempt: number;
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  outcome: 'succeeded' | 'failed';
  error: string | null;
}

export interface DeliveryLogPage {
  /** newest first */
  deliveries: DeliveryAttempt[];
  /** pass as `before` for the next (older) page; null on the last */
  next: string | null;
}

export interface AttemptRecord {
  subscriptionId: string;
  event: { number: string; type: string };
  durationMs: number;
  statusCode: number | null;
  succeeded: boolean;
  error: string | null;
  /** the delivery activity (run id/activity id) that made it: its progress is kept under this name */
  deliveredBy: string;
  /** where that activity's position is now, when this attempt moved it */
  progress: StreamPosition | null;
}

/** A secret's name in API answers and logs: enough of its SHA-256 to tell secrets apart, too little to help guess one. */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** Rows whose transaction is older than every one still running: a set no later commit can add to (migration 009). */
const FINAL = 'e.tx < pg_snapshot_xmin(pg_current_snapshot())';
const ATTEMPT_COLUMNS = `'evt_' || d.event_id AS "eventId", d.event_type AS "eventType", d.attempt, ${ISO('d.attempted_at')} AS "attemptedAt",
  d.duration_ms AS "durationMs", d.status_code AS "statusCode", CASE WHEN d.succeeded THEN 'succeeded' ELSE 'failed' END AS outcome, d.error`;

export class EventSubscriptions {
  private readonly campaigns: Campaigns;

  constructor(private readonly pool: Pool) {
    this.campaigns = new Campaigns(pool);
  }

  /**
   * Creates or replaces a subscription (a POST with the same id replaces its URL, secrets and events: that is how a
   * secret is rotated). A configured one is the configuration's: the API may not replace it (`configured`).
   */
  async save(subscription: EventSubscriptionDefinition, source: EventSubscriptionSource): Promise<'created' | 'replaced' | 'configured'> {
    const { rows } = await this.pool.query<{ created: boolean }>(
      `INSERT INTO event_subscriptions (id, url, secrets, events, description, source) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, secrets = EXCLUDED.secrets, events = EXCLUDED.events,
         description = EXCLUDED.description, source = EXCLUDED.source, active = true, updated_at = now()
       WHERE EXCLUDED.source = 'config' OR event_subscriptions.source = 'api'
       RETURNING (xmax = 0) AS created`,
      [subscription.id, subscription.url, subscription.secrets, subscription.events, subscription.description ?? null, source],
    );
    if (rows.length === 0) return 'configured';
    return rows[0]!.created ? 'created' : 'replaced';
  }

  /** EVENT_SUBSCRIPTIONS as it reads now: each saved; configured ones no longer listed made inactive (their workflows end). */
  async syncConfigured(subscriptions: readonly EventSubscriptionDefinition[]): Promise<{ deactivated: string[] }> {
    for (const subscription of subscriptions) await this.save(subscription, 'config');
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE event_subscriptions SET active = false, updated_at = now() WHERE source = 'config' AND active AND NOT (id = ANY($1)) RETURNING id`,
      [subscriptions.map((subscription) => subscription.id)],
    );
    return { deactivated: rows.map((row) => row.id) };
  }

  /** With its secrets: for the delivery activity only. */
  async get(id: string): Promise<StoredEventSubscription | undefined> {
    const { rows } = await this.pool.query<StoredEventSubscription & { description: string | null }>(
      'SELECT id, url, secrets, events, description, source, active FROM event_subscriptions WHERE id = $1',
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { description, ...rest } = row;
    return { ...rest, ...(description === null ? {} : { description }) };
  }

  async list(): Promise<EventSubscriptionView[]> {
    return this.views();
  }

  async view(id: string): Promise<EventSubscriptionView | undefined> {
    return (await this.views(id))[0];
  }

  private async views(id?: string): Promise<EventSubscriptionView[]> {
    const { rows } = await this.pool.query<Omit<EventSubscriptionView, 'secrets'> & { secretList: string[]; lastAttempt: DeliveryAttempt | null }>(
      `SELECT s.id, s.url, s.events, s.description, s.source, s.active, s.secrets AS "secretList",
         ${ISO('s.created_at')} AS "createdAt", ${ISO('s.updated_at')} AS "updatedAt",
         CASE WHEN s.delivered_id IS NULL THEN NULL
              ELSE json_build_object('eventId', 'evt_' || s.delivered_id, 'at', ${ISO('s.delivered_at')}) END AS "deliveredThrough",
         (SELECT row_to_json(a) FROM (SELECT ${ATTEMPT_COLUMNS} FROM event_deliveries d WHERE d.subscription_id = s.id ORDER BY d.id DESC LIMIT 1) a) AS "lastAttempt"
       FROM event_subscriptions s WHERE ($1::text IS NULL OR s.id = $1) ORDER BY s.id`,
      [id ?? null],
    );
    return rows.map(({ secretList, ...row }) => ({ ...row, secrets: secretList.map((secret) => ({ fingerprint: secretFingerprint(secret) })) }));
  }

  /** The last event of the stream that no later commit can precede: where a new subscription starts. */
  async streamHead(): Promise<StreamPosition> {
    const { rows } = await this.pool.query<StreamPosition>(`SELECT e.tx::text AS tx, e.id::text AS id FROM consent_events e WHERE ${FINAL} ORDER BY e.tx DESC, e.id DESC LIMIT 1`);
    return rows[0] ?? STREAM_START;
  }

  /**
   * The next events of the stream after `position`, in stream order, up to `limit`; only final rows (FINAL). Those of
   * `types` come with what their payload is built from; `scannedThrough` is the last row read, of any type.
   */
  async eventsAfter(position: StreamPosition, types: readonly ConsentEventType[], limit: number): Promise<{ events: StreamEvent[]; scannedThrough: StreamPosition | null }> {
    const { rows } = await this.pool.query<{
      number: string;
      tx: string;
      type: ConsentEventType;
      contact: string | null;
      ledgerEntryId: string | null;
      event: string;
      occurredAt: string;
      businessNumber: string | null;
      source: string | null;
      evidence: Record<string, unknown>;
      workflowId: string | null;
      campaignId: string | null;
      completedAt: string;
      messageType: string | null;
      program: string | null;
    }>(
      `SELECT e.id::text AS number, e.tx::text AS tx, e.event_type AS type, e.contact,
         l.id::text AS "ledgerEntryId", l.event, ${ISO('coalesce(l.occurred_at, e.occurred_at)')} AS "occurredAt",
         l.business_number AS "businessNumber", l.source, coalesce(l.evidence, '{}'::jsonb) AS evidence, l.workflow_id AS "workflowId",
         c.id AS "campaignId", ${ISO('coalesce(c.completed_at, e.occurred_at)')} AS "completedAt", c.message_type AS "messageType", c.program
       FROM consent_events e
       LEFT JOIN consent_ledger l ON l.id = e.ledger_id
       LEFT JOIN campaigns c ON c.id = e.campaign_id
       WHERE (e.tx, e.id) > ($1::xid8, $2::bigint) AND ${FINAL}
       ORDER BY e.tx, e.id LIMIT $3`,
      [position.tx, position.id, limit],
    );
    const events: StreamEvent[] = [];
    for (const row of rows) {
      if (!types.includes(row.type)) continue;
      const at = { number: row.number, position: { tx: row.tx, id: row.number }, type: row.type, contact: row.contact };
      if (row.campaignId !== null) {
        events.push({ ...at, campaign: await this.campaignSource(row.campaignId, row) });
      } else {
        events.push({
          ...at,
          ledger: {
            ledgerEntryId: row.ledgerEntryId!,
            event: row.event,
            contact: row.contact ?? '',
            occurredAt: row.occurredAt,
            businessNumber: row.businessNumber,
            source: row.source,
            evidence: row.evidence,
            workflowId: row.workflowId,
          },
        });
      }
    }
    const last = rows.at(-1);
    return { events, scannedThrough: last ? { tx: last.tx, id: last.number } : null };
  }

  private async campaignSource(campaignId: string, row: { completedAt: string; messageType: string | null; program: string | null }): Promise<CampaignEventSource> {
    // Counted from the recipient rows, which no longer change once the campaign completed.
    const { heldUntil: _heldUntil, ...counts } = await this.campaigns.counts(campaignId);
    return { campaignId, completedAt: row.completedAt, messageType: row.messageType, program: row.program, counts: { ...counts } };
  }

  /** Just before the event: a replay from it delivers it and everything after it. Undefined: no such event. */
  async positionBeforeEvent(eventNumber: string): Promise<StreamPosition | undefined> {
    const { rows } = await this.pool.query<StreamPosition>('SELECT tx::text AS tx, (id - 1)::text AS id FROM consent_events WHERE id = $1', [eventNumber]);
    return rows[0];
  }

  /** Just before the first event (in stream order) recorded at or after `at`, with its id; undefined: none yet. */
  async positionBeforeTime(at: string): Promise<{ position: StreamPosition; eventNumber: string } | undefined> {
    const { rows } = await this.pool.query<StreamPosition & { eventNumber: string }>(
      `SELECT tx::text AS tx, (id - 1)::text AS id, id::text AS "eventNumber" FROM consent_events WHERE recorded_at >= $1 ORDER BY tx, id LIMIT 1`,
      [at],
    );
    const row = rows[0];
    return row ? { position: { tx: row.tx, id: row.id }, eventNumber: row.eventNumber } : undefined;
  }

  /** One attempt in the log, and the delivery activity's progress when it moved. Answers the attempt's number. */
  async recordAttempt(record: AttemptRecord): Promise<number> {
    const { rows } = await this.pool.query<{ attempt: number }>(
      `WITH logged AS (
         INSERT INTO event_deliveries (subscription_id, event_id, event_type, attempt, duration_ms, status_code, succeeded, error, delivered_by)
         VALUES ($1, $2, $3, (SELECT count(*) + 1 FROM event_deliveries WHERE subscription_id = $1 AND event_id = $2), $4, $5, $6, $7, $8)
         RETURNING attempt
       ), progressed AS (
         -- Attempts side by side may commit out of order: an activity's progress only moves forward.
         UPDATE event_subscriptions SET delivered_tx = $9::xid8, delivered_id = $10::bigint, delivered_by = $8, delivered_at = now()
         WHERE id = $1 AND $9::xid8 IS NOT NULL
           AND (delivered_by IS DISTINCT FROM $8 OR delivered_id IS NULL OR (delivered_tx, delivered_id) < ($9::xid8, $10::bigint))
         RETURNING 1
       )
       SELECT attempt FROM logged`,
      [
        record.subscriptionId,
        record.event.number,
        record.event.type,
        record.durationMs,
        record.statusCode,
        record.succeeded,
        record.error,
        record.deliveredBy,
        record.progress?.tx ?? null,
        record.progress?.id ?? null,
      ],
    );
    return rows[0]!.attempt;
  }

  /**
   * What this delivery activity (an earlier attempt of it) got done: its progress, when it is the one that moved the
   * subscription's last, and the events it delivered (answered 2xx), which its retry does not send again.
   */
  async deliveredBy(subscriptionId: string, deliveredBy: string): Promise<{ position: StreamPosition | null; events: string[] }> {
    const { rows } = await this.pool.query<StreamPosition>(
      'SELECT delivered_tx::text AS tx, delivered_id::text AS id FROM event_subscriptions WHERE id = $1 AND delivered_by = $2 AND delivered_id IS NOT NULL',
      [subscriptionId, deliveredBy],
    );
    const events = await this.pool.query<{ number: string }>(
      'SELECT DISTINCT event_id::text AS number FROM event_deliveries WHERE subscription_id = $1 AND delivered_by = $2 AND succeeded',
      [subscriptionId, deliveredBy],
    );
    return { position: rows[0] ?? null, events: events.rows.map((row) => row.number) };
  }

  /** The delivery log, newest first; `eventNumber` narrows it to one event's attempts. */
  async deliveries(subscriptionId: string, { limit = 100, before, eventNumber }: { limit?: number; before?: string; eventNumber?: string } = {}): Promise<DeliveryLogPage> {
    const { rows } = await this.pool.query<DeliveryAttempt & { id: string }>(
      `SELECT d.id::text AS id, ${ATTEMPT_COLUMNS} FROM event_deliveries d
       WHERE d.subscription_id = $1 AND ($2::bigint IS NULL OR d.id < $2) AND ($3::bigint IS NULL OR d.event_id = $3)
       ORDER BY d.id DESC LIMIT $4`,
      [subscriptionId, before ?? null, eventNumber ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { deliveries: page.map(({ id: _id, ...attempt }) => attempt), next: rows.length > limit ? page.at(-1)!.id : null };
  }
}
