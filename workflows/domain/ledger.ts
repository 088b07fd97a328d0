/** consent-rules.md §8: what the evidence ledger records. Pure: the actor builds entries, activities append them. */

/** Every kind of event the ledger holds; each answers part of "why was this allowed or refused?". */
export const LEDGER_EVENTS = [
  'consent_recorded',
  'consent_refused',
  'opt_out',
  /** a new run of a contact's actor took its opt-out back from the opt-out list (its earlier run was closed) */
  'opt_out_restored',
  'resubscribe',
  'help_requested',
  'review_flagged',
  /** an operator's decision on a review flag: an opt-out, or not one (with who and why) */
  'review_resolved',
  'reply_sent',
  'reply_failed',
  /** a decided reply not sent because it was no longer true when its turn came (a STOP after the START it confirms) */
  'reply_withheld',
  /** the provider answered the keyword itself (Twilio, Telnyx): its confirmation is the one the contact got */
  'provider_replied',
  'message_sent',
  'send_refused',
  'send_failed',
  /** a send decided and possibly handed to the provider, whose outcome no attempt could confirm (OUTCOME_UNKNOWN) */
  'send_outcome_unknown',
  /** a send due in the recipient's quiet hours, held until the window opens and decided again then (§9) */
  'send_held',
  /** a double opt-in's consent, recorded with its evidence and waiting for the contact's Y (§10) */
  'consent_pending',
  /** a double opt-in that ended without the contact's confirmation: never a consent */
  'consent_expired',
] as const;
export type LedgerEvent = (typeof LEDGER_EVENTS)[number];

export interface LedgerEntry {
  /** deterministic for the event, so a retried append stores it once */
  key: string;
  contact: string;
  event: LedgerEvent;
  occurredAt: string;
  businessNumber: string | null;
  /** the opt-out source, the consent source, the refusal code: whatever classifies the event */
  source: string | null;
  evidence: Record<string, unknown>;
  /** the workflow execution that decided it, for jumping to its history in the Web UI */
  workflowId: string | null;
  runId: string | null;
}

/** What a send that never got a decision leaves in the ledger; written by the send workflow or, after it was terminated, the client. */
export function stateUnavailableEntry(
  send: { idempotencyKey: string; to: string; from: string; type: string; program: string | null; body: string },
  reason: string,
  at: string,
  execution: { workflowId: string; runId: string | null },
): LedgerEntry {
  return {
    key: `send:${send.idempotencyKey}:refused`,
    contact: send.to,
    event: 'send_refused',
    occurredAt: at,
    businessNumber: send.from,
    source: 'STATE_UNAVAILABLE',
    evidence: { type: send.type, program: send.program, body: send.body, reason },
    workflowId: execution.workflowId,
    runId: execution.runId,
  };
}
