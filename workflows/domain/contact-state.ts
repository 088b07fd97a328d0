/** The contact actor's state: one plain, serialisable object that passes through continue-as-new, bounded. */
import type { InboundIntent, KeywordSettingsChanges } from './keywords';
import type { ConsentInput } from './consent-evidence';
import type { LedgerEntry } from './ledger';
import type { MessageType, OptOutSource } from './schemas';
import {
  LEGACY_DEDUPE_WINDOW,
  MAX_CONSENTS,
  MAX_COUNTED_PROGRAMS,
  MAX_COUNTED_PROMOTIONAL_SENDS,
  MAX_COUNTED_SENDS,
  MAX_PAST_OPT_OUTS,
  MAX_PENDING_CONSENTS,
  MAX_REVIEW_FLAGS,
  OPT_IN_REPLY_KINDS,
  MAX_SEND_REFUSALS,
  MAX_SEND_RESERVATIONS,
  SEND_RESERVATION_LEASE_MS,
  MAX_SENT_MESSAGES,
  MAX_STATE_TEXT,
  MAX_THREADS,
  type ReplyKind,
} from './settings';

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

/**
 * An express consent, as decisions need it (recorded through the consent API). Its evidence is in the ledger's
 * `consent_recorded` entry; the same consent recorded again is one consent (the first grant is kept).
 */
export interface ConsentRecord {
  type: ConsentType;
  source: string;
  /** null: any business number of the account */
  businessNumber: string | null;
  messageTypes: MessageType[];
  /** null: every program */
  program: string | null;
  grantedAt: string;
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
  /**
   * Since the opt-out hardening: whether the contact was opted out when the reply was decided, and when that was.
   * When the reply's turn comes, a later STOP can make it no longer true (replyStaleness). Absent on older replies.
   */
  optedOutWhenDecided?: boolean;
  /** a reply still not sent a day after it was decided is given up as failed */
  decidedAt?: string;
  /** opt-in texts: the program they are for (its facts are the text's), and the reply that confirms a double opt-in */
  program?: string | null;
  confirmKeyword?: string;
}

/**
 * Why a reply is no longer true when its turn comes, or null when it still is. Only the opt-out confirmation may reach
 * a contact who opted out after the reply was decided: it is owed for every opt-out (consent-rules.md §3), and a START
 * that followed it has its own confirmation, after it. A re-subscribe confirmation never reaches an opted-out contact;
 * a HELP answer is withheld when the contact opted out after asking (§3: HELP asked while opted out is answered).
 */
export function replyStaleness(reply: PendingReply, state: Pick<ContactState, 'optedOut'>): string | null {
  if (!state.optedOut) return null;
  if (OPT_IN_REPLY_KINDS.includes(reply.kind)) return 'the contact opted out: no opt-in text reaches an opted-out contact';
  if (reply.kind === 'resubscribe_confirmation') return 'the contact opted out after this re-subscribe';
  if (reply.kind === 'help' && reply.optedOutWhenDecided === false) return 'the contact opted out after asking for HELP';
  return null;
}

/**
 * A double opt-in waiting for the contact's Y (consent-rules.md §10): the consent as given, with its form's evidence,
 * held until a confirming reply on `from` before `expiresAt` turns it into a consent, or it expires (never a consent).
 */
export interface PendingConsent {
  /** the key of its `consent_pending` ledger entry */
  evidenceKey: string;
  consent: ConsentInput;
  /** the business number the request went from (a Y must come to it); null: none could be sent */
  from: string | null;
  keywords: string[];
  requestedAt: string;
  expiresAt: string;
  /** send the opt-in confirmation once it is confirmed */
  confirm: boolean;
}

/** A business-initiated or conversational message the engine sent: first-message and frequency rules read these. */
export interface SentMessageRecord {
  idempotencyKey: string;
  from: string;
  type: MessageType;
  program: string | null;
  sentAt: string;
}

/**
 * A send the actor allowed and reserved (the send gate's `reserveSend`), not yet settled: it counts against its
 * program's cap like a send until it is confirmed sent (then it is one), refused or released.
 */
export interface SendReservation {
  idempotencyKey: string;
  from: string;
  type: MessageType;
  program: string | null;
  reservedAt: string;
}

/** When a program's business messages went to this contact, newest last: what its frequency cap counts. */
export interface ProgramSends {
  program: string;
  sentAt: string[];
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
  /** decided replies not sent because they were no longer true when their turn came (replyStaleness) */
  repliesWithheld: number;
  /** signals whose payload failed validation: ignored, never applied */
  rejectedSignals: number;
  consentsRecorded: number;
  consentsRefused: number;
  /** double opt-ins recorded as pending (each becomes a recorded consent only once confirmed) */
  doubleOptInsRequested: number;
  messagesSent: number;
  sendsRefused: number;
  /** business-initiated (not conversational) sends ever: the first one owes §6's disclosures, whatever sentMessages still holds */
  businessMessagesSent: number;
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
  /** the latest sends, newest last (bounded) */
  sentMessages: SentMessageRecord[];
  /** per program, the times of its newest business sends (frequency caps count these) */
  programSends: ProgramSends[];
  /** the times of the newest promotional sends, whatever their program: state message limits count these (§9) */
  promotionalSends: string[];
  sendRefusals: SendRefusalRecord[];
  /** sends allowed and reserved, not yet settled (bounded by MAX_SEND_RESERVATIONS) */
  reservations: SendReservation[];
  lastInbound: { messageId: string; businessNumber: string; intent: InboundIntent; receivedAt: string } | null;
  /** evidence decided but not yet appended to the Postgres ledger (consent-rules.md §8), oldest first */
  pendingLedger: LedgerEntry[];
  /** numbers this contact's ledger entries: with the chain's first run id, each entry's idempotency key */
  ledgerSeq: number;
  counts: ContactCounts;
  /** the account's keyword settings (changes from the defaults) that the latest text carried; absent: none carried any yet */
  keywords?: KeywordSettingsChanges;
  /** double opt-ins waiting for the contact's confirmation (bounded by MAX_PENDING_CONSENTS) */
  pendingConsents: PendingConsent[];
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
    programSends: [],
    promotionalSends: [],
    sendRefusals: [],
    reservations: [],
    lastInbound: null,
    pendingLedger: [],
    pendingConsents: [],
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
      repliesWithheld: 0,
      rejectedSignals: 0,
      consentsRecorded: 0,
      consentsRefused: 0,
      doubleOptInsRequested: 0,
      messagesSent: 0,
      sendsRefused: 0,
      businessMessagesSent: 0,
    },
  };
}

/** Cut to what the state keeps; the full text is in the ledger. */
export function stateText(text: string): string {
  return text.length <= MAX_STATE_TEXT ? text : `${text.slice(0, MAX_STATE_TEXT - 1)}…`;
}

/** Consents are one per scope: these decide whether two are the same consent. */
export function consentScope(consent: Pick<ConsentRecord, 'type' | 'businessNumber' | 'messageTypes' | 'program'>): string {
  return JSON.stringify([consent.type, consent.businessNumber, [...consent.messageTypes].sort(), consent.program ?? null]);
}

/** Adds a consent unless the same one is held (or the list is full); says whether it was added. */
export function addConsent(state: ContactState, consent: ConsentRecord): 'added' | 'already_held' | 'full' {
  const scope = consentScope(consent);
  if (state.consents.some((held) => consentScope(held) === scope)) return 'already_held';
  if (state.consents.length >= MAX_CONSENTS) return 'full';
  state.consents.push(consent);
  return 'added';
}

/** Records one send: the latest whole, and its time under its program when it counts for the program's cap. */
export function recordSend(state: ContactState, sent: SentMessageRecord): void {
  state.sentMessages = [...state.sentMessages, sent].slice(-MAX_SENT_MESSAGES);
  state.programSends = countSends(state.programSends, [sent]);
  if (sent.type === 'promotional') state.promotionalSends = [...state.promotionalSends, sent.sentAt].sort().slice(-MAX_COUNTED_PROMOTIONAL_SENDS);
}

/** Settles a reservation (its send was confirmed, refused or released): its slot is freed; returns it, if there was one. */
export function settleReservation(state: ContactState, idempotencyKey: string): SendReservation | undefined {
  const held = state.reservations.find((r) => r.idempotencyKey === idempotencyKey);
  if (held) state.reservations = state.reservations.filter((r) => r !== held);
  return held;
}

/**
 * Reservations older than the lease that nothing settled (a send pipeline that never reported back) are counted as
 * sent from then on: a cap slot is never freed on a guess. Run before each new reservation.
 */
export function expireReservations(state: ContactState, now: string): void {
  const cutoff = new Date(Date.parse(now) - SEND_RESERVATION_LEASE_MS).toISOString();
  for (const held of state.reservations.filter((r) => r.reservedAt < cutoff)) {
    settleReservation(state, held.idempotencyKey);
    recordSend(state, { idempotencyKey: held.idempotencyKey, from: held.from, type: held.type, program: held.program, sentAt: held.reservedAt });
    state.counts.messagesSent += 1;
    if (held.type !== 'conversational') state.counts.businessMessagesSent += 1;
  }
}

/** Adds sends to the per-program times: newest MAX_COUNTED_SENDS per program, MAX_COUNTED_PROGRAMS programs. */
function countSends(counted: ProgramSends[], sends: SentMessageRecord[]): ProgramSends[] {
  let programs = counted;
  for (const sent of sends) {
    if (sent.program === null || sent.type === 'conversational') continue;
    const held = programs.find((p) => p.program === sent.program);
    const sentAt = [...(held?.sentAt ?? []), sent.sentAt].sort().slice(-MAX_COUNTED_SENDS);
    // The program sent to last goes last, so the first is the one least recently sent.
    programs = [...programs.filter((p) => p !== held), { program: sent.program, sentAt }].slice(-MAX_COUNTED_PROGRAMS);
  }
  return programs;
}

/** The most recently active threads, at most MAX_THREADS, in the order they were opened. */
export function keepRecentThreads(threads: ConversationThread[]): ConversationThread[] {
  if (threads.length <= MAX_THREADS) return threads;
  const byActivity = [...threads].sort((a, b) => (a.lastInboundAt < b.lastInboundAt ? 1 : a.lastInboundAt > b.lastInboundAt ? -1 : 0));
  const kept = new Set(byActivity.slice(0, MAX_THREADS));
  return threads.filter((t) => kept.has(t));
}

/**
 * The state a run starts from: what continue-as-new carried, of whatever shape an older version left, with a typed
 * default for every field it lacks (deeply: a counter added to `counts` starts at 0, not NaN), values of the wrong
 * type replaced by their default, unknown fields kept, and every list bounded as the current version bounds it.
 */
export function settleContactState(phone: string, carried: unknown): ContactState {
  const empty = emptyContactState(phone);
  if (!isRecord(carried)) return empty;
  const counts = isRecord(carried.counts) ? carried.counts : {};
  const sentMessages = list(carried.sentMessages, sentMessage);
  // Older states counted caps from their whole sends list: their counts start from it.
  const programSends = Array.isArray(carried.programSends)
    ? list(carried.programSends, programSendsRecord).slice(-MAX_COUNTED_PROGRAMS)
    : countSends([], sentMessages);
  const optOut = optOutRecord(carried.optOut);
  const optedOut = bool(carried.optedOut, false);
  const state: ContactState = {
    ...(carried as Partial<ContactState>),
    phone: text(carried.phone, phone),
    optedOut,
    optOut: optedOut ? optOut ?? null : null,
    optOutConfirmed: bool(carried.optOutConfirmed, false),
    consents: [],
    threads: keepRecentThreads(list(carried.threads, thread)),
    reviewFlags: list(carried.reviewFlags, reviewFlag).slice(-MAX_REVIEW_FLAGS),
    pastOptOuts: list(carried.pastOptOuts, pastOptOut).slice(-MAX_PAST_OPT_OUTS),
    pendingReplies: list(carried.pendingReplies, (value) => (isRecord(value) && typeof value.idempotencyKey === 'string' ? (value as unknown as PendingReply) : undefined)),
    recentMessageIds: list(carried.recentMessageIds, (value) => (typeof value === 'string' ? value : undefined)).slice(-LEGACY_DEDUPE_WINDOW),
    sentMessages: sentMessages.slice(-MAX_SENT_MESSAGES),
    programSends,
    // Older states counted no promotional sends apart: the sends they still hold are where the count starts.
    promotionalSends: (Array.isArray(carried.promotionalSends)
      ? list(carried.promotionalSends, (time) => (typeof time === 'string' ? time : undefined))
      : sentMessages.filter((sent) => sent.type === 'promotional').map((sent) => sent.sentAt)
    )
      .sort()
      .slice(-MAX_COUNTED_PROMOTIONAL_SENDS),
    sendRefusals: list(carried.sendRefusals, sendRefusal).slice(-MAX_SEND_REFUSALS),
    reservations: list(carried.reservations, reservation).slice(-MAX_SEND_RESERVATIONS),
    lastInbound: isRecord(carried.lastInbound) ? (carried.lastInbound as unknown as ContactState['lastInbound']) : null,
    pendingLedger: list(carried.pendingLedger, (value) => (isRecord(value) && typeof value.key === 'string' ? (value as unknown as LedgerEntry) : undefined)),
    ledgerSeq: num(carried.ledgerSeq, 0),
    pendingConsents: list(carried.pendingConsents, (value) =>
      isRecord(value) && typeof value.evidenceKey === 'string' && typeof value.expiresAt === 'string' && isRecord(value.consent) ? (value as unknown as PendingConsent) : undefined,
    ).slice(-MAX_PENDING_CONSENTS),
    counts: Object.fromEntries(
      Object.entries(empty.counts).map(([key, zero]) => [
        key,
        // Older states never counted business sends: the sends they still hold are the best lower bound.
        num(counts[key], key === 'businessMessagesSent' ? sentMessages.filter((sent) => sent.type !== 'conversational').length : zero),
      ]),
    ) as unknown as ContactCounts,
  };
  if (!isRecord(carried.keywords)) delete state.keywords;
  for (const consent of list(carried.consents, consentRecord)) addConsent(state, consent);
  return state;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}
function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
function list<T>(value: unknown, item: (value: unknown) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  return value.map(item).filter((entry): entry is T => entry !== undefined);
}

function optOutRecord(value: unknown): OptOutRecord | undefined {
  if (!isRecord(value) || typeof value.source !== 'string' || typeof value.at !== 'string') return undefined;
  return {
    source: value.source as OptOutRecord['source'],
    at: value.at,
    businessNumber: textOrNull(value.businessNumber),
    text: textOrNull(value.text),
    messageId: textOrNull(value.messageId),
    recordedBy: textOrNull(value.recordedBy),
    reference: textOrNull(value.reference),
    note: textOrNull(value.note),
  };
}
function pastOptOut(value: unknown): PastOptOut | undefined {
  if (!isRecord(value)) return undefined;
  const optOut = optOutRecord(value.optOut);
  if (!optOut) return undefined;
  return { optOut: { ...optOut, text: optOut.text === null ? null : stateText(optOut.text) }, endedAt: text(value.endedAt, optOut.at), endedByMessageId: text(value.endedByMessageId, '') };
}
function consentRecord(value: unknown): ConsentRecord | undefined {
  if (!isRecord(value) || (value.type !== 'express' && value.type !== 'express_written') || typeof value.grantedAt !== 'string') return undefined;
  return {
    type: value.type,
    source: text(value.source, 'unknown'),
    businessNumber: textOrNull(value.businessNumber),
    messageTypes: list(value.messageTypes, (type) => (typeof type === 'string' ? (type as MessageType) : undefined)),
    program: textOrNull(value.program),
    grantedAt: value.grantedAt,
  };
}
function thread(value: unknown): ConversationThread | undefined {
  if (!isRecord(value) || typeof value.businessNumber !== 'string') return undefined;
  const firstInboundAt = text(value.firstInboundAt, '');
  return {
    businessNumber: value.businessNumber,
    firstInboundAt,
    lastInboundAt: text(value.lastInboundAt, firstInboundAt),
    firstMessageId: text(value.firstMessageId, ''),
    inboundCount: num(value.inboundCount, 1),
  };
}
function reviewFlag(value: unknown): ReviewFlag | undefined {
  if (!isRecord(value) || typeof value.messageId !== 'string') return undefined;
  return {
    messageId: value.messageId,
    businessNumber: text(value.businessNumber, ''),
    body: stateText(text(value.body, '')),
    matched: textOrNull(value.matched),
    receivedAt: text(value.receivedAt, ''),
  };
}
function sentMessage(value: unknown): SentMessageRecord | undefined {
  if (!isRecord(value) || typeof value.idempotencyKey !== 'string' || typeof value.sentAt !== 'string') return undefined;
  return { idempotencyKey: value.idempotencyKey, from: text(value.from, ''), type: text(value.type, 'transactional') as MessageType, program: textOrNull(value.program), sentAt: value.sentAt };
}
function programSendsRecord(value: unknown): ProgramSends | undefined {
  if (!isRecord(value) || typeof value.program !== 'string') return undefined;
  const sentAt = list(value.sentAt, (time) => (typeof time === 'string' ? time : undefined));
  return { program: value.program, sentAt: [...sentAt].sort().slice(-MAX_COUNTED_SENDS) };
}
function reservation(value: unknown): SendReservation | undefined {
  if (!isRecord(value) || typeof value.idempotencyKey !== 'string' || typeof value.reservedAt !== 'string') return undefined;
  return { idempotencyKey: value.idempotencyKey, from: text(value.from, ''), type: text(value.type, 'transactional') as MessageType, program: textOrNull(value.program), reservedAt: value.reservedAt };
}
function sendRefusal(value: unknown): SendRefusalRecord | undefined {
  if (!isRecord(value) || typeof value.idempotencyKey !== 'string') return undefined;
  return {
    idempotencyKey: value.idempotencyKey,
    from: text(value.from, ''),
    type: text(value.type, 'transactional') as MessageType,
    program: textOrNull(value.program),
    code: text(value.code, ''),
    reason: stateText(text(value.reason, '')),
    at: text(value.at, ''),
  };
}
