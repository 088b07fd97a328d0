/**
 * The signal backlog (migration 010): what the edge accepted while Temporal could not be reached, waiting for the
 * contact's actor. An opt-out in it is on the opt-out list at once, written in the same transaction, and the send
 * gate refuses its contact until the actor has it (consent-rules.md §1: fail open on opt-outs, closed on sends).
 */
import type { Pool } from 'pg';
import type { CanSendResult } from '../../workflows/domain/schemas';
import { inTransaction } from './pool';

export interface BacklogEntry {
  contact: string;
  taskQueue: string;
  signal: string;
  payload: unknown;
  /** the opt-out as the list shows it while it waits; absent for a text that is not an opt-out */
  optOut?: { at: string; businessNumber: string | null; source: string; reference: string | null };
  why: string;
}

export interface WaitingSignal {
  id: string;
  contact: string;
  signal: string;
  payload: unknown;
}

/** The list row's recorded_by while the actor has not yet recorded the opt-out itself (its ledger entry replaces it). */
export const BACKLOG_RECORDED_BY = 'edge: accepted while Temporal was unreachable, waiting for the actor';

/** The send decision while an opt-out the edge accepted waits for the actor: refused, as the actor will refuse it. */
export function waitingOptOutDecision(contact: string, acceptedAt: string): CanSendResult {
  return {
    allowed: false,
    code: 'OPTED_OUT',
    reason: `${contact} opted out: the opt-out accepted at ${acceptedAt}, while Temporal was unreachable, is waiting to reach the contact's actor`,
    firstBusinessMessage: false,
  };
}

/** Signals delivered per round (one transaction); the next round takes the rest. */
const DRAIN_BATCH = 200;

export class SignalBacklog {
  constructor(private readonly pool: Pool) {}

  /** Stores the signal and, for an opt-out, lists the contact (unless listed already) in one transaction. */
  async add(entry: BacklogEntry): Promise<string> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO signal_backlog (contact, task_queue, signal, payload, opt_out, accepted_why) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`,
        [entry.contact, entry.taskQueue, entry.signal, JSON.stringify(entry.payload), entry.optOut !== undefined, entry.why.slice(0, 2000)],
      );
      const id = rows[0]!.id;
      if (entry.optOut) {
        const { at, businessNumber, source, reference } = entry.optOut;
        await client.query(
          `INSERT INTO opt_outs (phone, opted_out_at, business_number, source, recorded_by, reference, note, ledger_key, workflow_id, run_id)
           VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL, NULL) ON CONFLICT (phone) DO NOTHING`,
          [entry.contact, at, businessNumber, source, BACKLOG_RECORDED_BY, reference, `signal-backlog:${id}`],
        );
      }
      return id;
    });
  }

  /** True when the contact has signals waiting: a new one joins them, so its actor hears them in order. */
  async waiting(contact: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM signal_backlog WHERE contact = $1 AND delivered_at IS NULL LIMIT 1', [contact]);
    return rows.length > 0;
  }

  /** The first opt-out waiting for the contact's actor, if any: when it was accepted. */
  async waitingOptOut(contact: string): Promise<{ acceptedAt: string } | undefined> {
    const { rows } = await this.pool.query<{ acceptedAt: string }>(
      `SELECT to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "acceptedAt"
       FROM signal_backlog WHERE contact = $1 AND delivered_at IS NULL AND opt_out ORDER BY id LIMIT 1`,
      [contact],
    );
    return rows[0];
  }

  /** How many of the task queue's signals wait, and since when (the health check). */
  async depth(taskQueue: string): Promise<{ waiting: number; oldest: string | null }> {
    const { rows } = await this.pool.query<{ waiting: number; oldest: string | null }>(
      `SELECT count(*)::int AS waiting, to_char(min(accepted_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS oldest
       FROM signal_backlog WHERE task_queue = $1 AND delivered_at IS NULL`,
      [taskQueue],
    );
    return rows[0]!;
  }

  /**
   * Delivers the task queue's waiting signals in id order, a batch per round, under a transaction-scoped advisory
   * lock on the task queue (one drain at a time across the processes that share it, so a contact's texts reach its
   * actor in order). A failure `stopsAll` says is the dependency's (Temporal down again) ends the round, so nothing
   * goes ahead of an earlier signal. Any other holds back the rest of that contact's signals only (an opt-out among
   * them stays listed and in force), tried again after 5 s, doubling, up to 5 minutes. Returns how many went, and the
   * last failure.
   */
  async drain(taskQueue: string, deliver: (signal: WaitingSignal) => Promise<void>, stopsAll: (error: unknown) => boolean): Promise<{ delivered: number; failed: string | null }> {
    // Most rounds find nothing: one indexed read, no transaction.
    const { rows: any } = await this.pool.query('SELECT 1 FROM signal_backlog WHERE task_queue = $1 AND delivered_at IS NULL LIMIT 1', [taskQueue]);
    if (any.length === 0) return { delivered: 0, failed: null };
    return inTransaction(this.pool, async (client) => {
      let delivered = 0;
      let failed: string | null = null;
      const { rows: lock } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('signal-backlog:' || $1)) AS locked`, [taskQueue]);
      if (!lock[0]?.locked) return { delivered, failed };
      // Not a contact's signals behind one backed off: they wait for it, and do not fill the batch meanwhile.
      const { rows } = await client.query<WaitingSignal>(
        `SELECT id::text, contact, signal, payload FROM signal_backlog waiting
         WHERE task_queue = $1 AND delivered_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM signal_backlog earlier WHERE earlier.contact = waiting.contact AND earlier.delivered_at IS NULL
                             AND earlier.id <= waiting.id AND earlier.next_attempt_at > now())
         ORDER BY id LIMIT $2`,
        [taskQueue, DRAIN_BATCH],
      );
      const heldBack = new Set<string>();
      for (const row of rows) {
        if (heldBack.has(row.contact)) continue;
        try {
          await deliver(row);
        } catch (error) {
          failed = describeFailure(error);
          const again = stopsAll(error);
          // Temporal down: every round tries again. Refused for itself: backed off, so it is not resent every second.
          await client.query(
            `UPDATE signal_backlog SET attempts = attempts + 1, last_error = $2,
               next_attempt_at = CASE WHEN $3 THEN NULL ELSE now() + least(interval '5 seconds' * power(2, least(attempts, 12)), interval '5 minutes') END
             WHERE id = $1`,
            [row.id, failed.slice(0, 2000), again],
          );
          if (again) break;
          heldBack.add(row.contact);
          continue;
        }
        await client.query('UPDATE signal_backlog SET delivered_at = now(), attempts = attempts + 1 WHERE id = $1', [row.id]);
        delivered += 1;
      }
      return { delivered, failed };
    });
  }
}

/** The error and its causes (the Temporal client's own message is generic; the server's reason is in its cause). */
function describeFailure(error: unknown): string {
  const messages: string[] = [];
  for (let current = error; current !== undefined && current !== null && messages.length < 5; current = (current as { cause?: unknown }).cause) {
    messages.push(current instanceof Error ? current.message : String(current));
    if (!(current instanceof Error)) break;
  }
  return messages.join(': ');
}
