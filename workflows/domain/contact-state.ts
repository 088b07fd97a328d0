/** The contact actor's state: one plain, serialisable object that passes through continue-as-new untouched. */
import type { InboundIntent } from './keywords';
import type { LedgerEntry } from './ledger';
import type { MessageType, OptOutSource } from './schemas';
import type { ReplyKind } from './settings';

export interface OptOutRecord {
  source: OptOutSource;
  at: string;
  /** the business number the opt-out came in on; null for imports and operator records without one */
  businessNumber: string | null;
  /** the exact inbound text, for keyword and revocation opt-outs */
  text: string | null;
  messageId: string | null;
  recordedBy: string | null;
  reference: string | null;
  note: string | null;
}

/** An opt-out that a re-subscribe ended: kept so the contact's history reads whole. */
export interface PastOptOut {
  optOut: OptOutRecord;
  endedAt: string;
  endedByMessageId: string;
}

/** Implied consent for the conversation: the contact texted this business number first (consent-rules.md §2). */
export interface ConversationThread {
  businessNumber: string;
  firstInboundAt: string;
  lastInboundAt: string;
  /** evidence: the inbound message that opened the thread */
  firstMessageId: string;
  inboundCount: number;
}

export type ConsentType = 'express' | 'express_written';

/** An express consent with its evidence (recorded through the consent API). */
export interface ConsentRecord {
  type: ConsentType;
  source: string;
  /** null: any business number of the account */
  businessNumber: string | null;
  messageTypes: MessageType[];
  /** null or absent: every program */
  program?: string | null;
  grantedAt: string;
  evidence: Record<string, unknown>;
}

/** An inbound text that contains a keyword without being one: changes nothing, an operator should look. */
export interface ReviewFlag {
  messageId: string;
  businessNumber: string;
  body: string;
  matched: string | null;
  receivedAt: string;
}

/** A reply decided by the actor and not yet confirmed sent by the reply activity. */
export interface PendingReply {
  kind: ReplyKind;
  /** derived from the inbound message id: the outbox and provider send it once whatever retries */
  idempotencyKey: string;
  businessNumber: string;
  inboundMessageId: string;
}

/** A business-initiated or conversational message the engine sent: first-message and frequency rules read these. */
export interface SentMessageRecord {
  idempotencyKey: string;
  from: string;
  type: MessageType;
  program: string | null;
  sentAt: string;
}

/** A send the engine refused, kept on the contact so its history answers "why was this not sent?". */
export interface SendRefusalRecord {
  idempotencyKey: string;
  from: string;
  type: MessageType;
  program: string | null;
  code: string;
  reason: string;
  at: string;
}

export interface ContactCounts {
  inbound: number;
  duplicates: number;
  optOuts: number;
  resubscribes: number;
  helpRequests: number;
  reviewFlags: number;
  repliesSent: number;
  repliesFailed: number;
  /** signals whose payload failed validation: ignored, never applied */
  rejectedSignals: number;
  consentsRecorded: number;
  consentsRefused: number;
  messagesSent: number;
  sendsRefused: number;
}

export interface ContactState {
  phone: string;
  optedOut: boolean;
  optOut: OptOutRecord | null;
  /** whether the current opt-out already has its one confirmation (an imported opt-out has none) */
  optOutConfirmed: boolean;
  consents: ConsentRecord[];
  threads: ConversationThread[];
  reviewFlags: ReviewFlag[];
  pastOptOuts: PastOptOut[];
  pendingReplies: PendingReply[];
  /** bounded list of processed inbound message ids, oldest first */
  recentMessageIds: string[];
  /** recent sends, newest last (bounded): enough for a month's frequency window */
  sentMessages: SentMessageRecord[];
  sendRefusals: SendRefusalRecord[];
  lastInbound: { messageId: string; businessNumber: string; intent: InboundIntent; receivedAt: string } | null;
  /** evidence decided but not yet appended to the Postgres ledger (consent-rules.md §8), oldest first */
  pendingLedger: LedgerEntry[];
  /** numbers this contact's ledger entries: with the chain's first run id, each entry's idempotency key */
  ledgerSeq: number;
  counts: ContactCounts;
}

export function emptyContactState(phone: string): ContactState {
  return {
    phone,
    optedOut: false,
    optOut: null,
    optOutConfirmed: false,
    consents: [],
    threads: [],
    reviewFlags: [],
    pastOptOuts: [],
    pendingReplies: [],
    recentMessageIds: [],
    sentMessages: [],
    sendRefusals: [],
    lastInbound: null,
    pendingLedger: [],
    ledgerSeq: 0,
    counts: {
      inbound: 0,
      duplicates: 0,
      optOuts: 0,
      resubscribes: 0,
      helpRequests: 0,
      reviewFlags: 0,
      repliesSent: 0,
      repliesFailed: 0,
      rejectedSignals: 0,
      consentsRecorded: 0,
      consentsRefused: 0,
      messagesSent: 0,
      sendsRefused: 0,
    },
  };
}
