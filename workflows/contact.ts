/**
 * The contact actor: one long-lived workflow per E.164 number (id `contact:<E.164>`), account-wide.
 * Signal handlers apply consent changes synchronously, so a query right after a STOP already sees it;
 * the main loop only sends the replies those changes decided, and rotates the history with continue-as-new.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { LedgerActivities } from '../activities/ledger';
import type { ReplyActivities, SendReplyRequest } from '../activities/replies';
import { evaluateSend } from './domain/consent-rules';
import {
  addConsent,
  consentScope,
  expireReservations,
  keepRecentThreads,
  recordSend,
  settleReservation,
  settleContactState,
  stateText,
  type ContactState,
  type OptOutRecord,
  type PendingConsent,
  type PendingReply,
  replyStaleness,
} from './domain/contact-state';
import {
  classifyInbound,
  DEFAULT_KEYWORD_SETTINGS,
  intentFor,
  keywordSettingsChanges,
  keywordSettingsFrom,
  normaliseInboundText,
  type InboundClassification,
  type KeywordSettings,
} from './domain/keywords';
import {
  canSendRequestSchema,
  inboundMessageSchema,
  messageSentSchema,
  recordOptOutSchema,
  releaseSendSchema,
  reserveSendRequestSchema,
  resolveReviewSchema,
  sendRefusedSchema,
  describeIssues,
  MAX_MESSAGE_BODY_LENGTH,
  type CanSendResult,
  type InboundMessage,
  type OptOutSource,
  type ProviderKeywordReplies,
} from './domain/schemas';
import {
  DEDUPE_WINDOW,
  DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
  LEGACY_DEDUPE_WINDOW,
  MAX_PAST_OPT_OUTS,
  MAX_PENDING_CONSENTS,
  MAX_REVIEW_FLAGS,
  MAX_SEND_REFUSALS,
  OPT_IN_REPLY_KINDS,
  MAX_SEND_RESERVATIONS,
  REPLY_NO_LONGER_TRUE,
  type ReplyKind,
} from './domain/settings';
import { checkConsentEvidence, consentInputSchema, type ConsentConfirmation, type ConsentInput } from './domain/consent-evidence';
import type { LedgerEntry } from './domain/ledger';
import {
  applyOptOutUpdate,
  canSendQuery,
  contactStateQuery,
  inboundMessageSignal,
  messageSentSignal,
  recordConsentSignal,
  recordOptOutSignal,
  releaseSendSignal,
  replyStalenessQuery,
  reserveSendUpdate,
  resolveReviewUpdate,
  sendRefusedSignal,
  type ApplyOptOutResult,
  type ReviewResolution,
} from './messages';
import { actorSettings } from './contact-start';
import { needsReviewAttribute, optedOutAttribute, optOutSourceAttribute } from './search-attributes';

export interface ContactWorkflowSettings {
  /**
   * Only in the input of actors started before keyword settings travelled with each text (corpus v1, v2): what such
   * an actor reads texts with until a text brings the account's settings. New actors are never started with it.
   */
  keywords?: KeywordSettings;
  /** continue-as-new at this history length even before Temporal suggests it (tests set it low) */
  continueAsNewAfterEvents?: number;
}

export interface ContactWorkflowInput {
  phone: string;
  /**
   * The contact's entry on the opt-out list, read by the starter just before starting this run (null: none), so the
   * run need not read it again; absent: the run reads it itself. Only used on a first run.
   */
  listedOptOut?: OptOutRecord | null;
  /** carried across continue-as-new; absent on a contact's first run */
  state?: ContactState;
  settings?: ContactWorkflowSettings;
}

/** Replies keyed to their contact and business number, not to the inbound message id alone (since corpus v2). */
export const REPLY_KEY_PER_CONTACT_PATCH = 'reply-key-per-contact';

/**
 * The history rotates between two pieces of work, carrying what is still queued, instead of waiting for both queues
 * to empty (since corpus v3): a contact texted faster than its queues drained never let them empty, and its history
 * grew until Temporal refused its signals ("exceeded workflow execution limit for signal events"). Unpatched, the
 * actors of corpus v1 and v2 replay as they ran.
 */
export const ROTATE_WITH_QUEUED_WORK_PATCH = 'rotate-with-queued-work';

/**
 * The opt-out hardening (since corpus v5): a decided reply is checked again when its turn comes and withheld when no
 * longer true; a reply the provider keeps failing gives its turn back after a few minutes, so neither continue-as-new
 * nor the replies behind it wait a day on it; a keyword the provider answered itself is not confirmed a second time.
 * Read once per run: a run started before it keeps the old ways until its next continue-as-new.
 */
export const OPT_OUT_HARDENING_PATCH = 'opt-out-hardening';

/** The replies an inbound keyword decides (the provider may have answered these itself). */
type KeywordReplyKind = Exclude<ReplyKind, 'opt_in_request' | 'opt_in_confirmation'>;

/** Error types the reply activity throws that retrying cannot fix. */
export const NON_RETRYABLE_REPLY_ERRORS = ['RecipientOptedOut', 'ProviderRejected', REPLY_NO_LONGER_TRUE];

/** Replies go to the provider within seconds; a provider outage is retried for a day, then recorded as failed. */
const REPLY_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: NON_RETRYABLE_REPLY_ERRORS },
};
const replyActivities = proxyActivities<ReplyActivities>(REPLY_ACTIVITY_OPTIONS);
/**
 * Since the hardening, one call retries for a minute; after that the reply waits at the head of its queue on a
 * durable timer (REPLY_RETRY_DELAYS_MS) while the actor may rotate, and is tried again, up to a day after it was decided.
 * A call in flight is never cancelled for a rotation (an attempt at the provider could land after the next run sent it
 * again), so a failing reply holds continue-as-new for at most this minute.
 */
const HARDENED_REPLY_ACTIVITY_OPTIONS: ActivityOptions = {
  ...REPLY_ACTIVITY_OPTIONS,
  scheduleToCloseTimeout: '1m',
  retry: { ...REPLY_ACTIVITY_OPTIONS.retry, maximumInterval: '30s' },
};
/** The waits between two calls of a reply the provider keeps failing: 10 s, 30 s, 1 min, then every 5 min. */
export const REPLY_RETRY_DELAYS_MS = [10_000, 30_000, 60_000, 300_000];
/** A reply not sent a day after it was decided is recorded as failed (as the 24-hour schedule-to-close did before). */
const REPLY_GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Ledger appends and the opt-out list read are short Postgres calls: local activities, no task-queue round trip.
 * No attempt limit: evidence waits out a database outage in the workflow's state, and is never dropped.
 * A local activity retrying in place holds its workflow task open, and with it every later STOP, query and reply:
 * past the first second of failures its retries wait on durable timers instead, so the actor goes on serving.
 */
const ledgerActivities = proxyLocalActivities<LedgerActivities>({
  startToCloseTimeout: '10s',
  localRetryThreshold: '1s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '1m' },
});
/**
 * The last appends before the history rotates: a try or two, so a database outage never holds the rotation (nor
 * the replies it pauses); what they could not append is carried in the state as before.
 */
const rotationLedgerActivities = proxyLocalActivities<LedgerActivities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '200ms', maximumAttempts: 2 },
});
/**
 * What each piece of a run's work adds to its history, rounded up, with its share of the workflow tasks around it: a
 * signal or update (1–2 events, plus a task of 3 and the search attributes it may upsert), an activity (scheduled,
 * started, closed, and a task), a timer, a local activity (its marker, and a task). The rotation counts these.
 */
const EVENTS_PER = { message: 5, activity: 6, timer: 5, localActivity: 4 };

/** How long an operator's opt-out waits for its list row before it answers anyway (in force, not yet listed). */
const OPT_OUT_LISTING_WAIT = '10s';
/** One append carries at most this many entries (a burst of signals between two flushes). */
const LEDGER_BATCH = 100;

const REPLY_LABELS: Record<ReplyKind, string> = {
  opt_out_confirmation: 'opt-out confirmation',
  resubscribe_confirmation: 're-subscribe confirmation',
  help: 'HELP reply',
  opt_in_request: 'double opt-in request',
  opt_in_confirmation: 'opt-in confirmation',
};

/**
 * Opt-in texts (since corpus v6): a consent may say how it is confirmed by text, the CTIA opt-in confirmation or a
 * double opt-in's request. Asked where a consent signal carries that; a history recorded before read it as a plain
 * consent (zod dropped the field) and replays so, unpatched.
 */
export const OPT_IN_CONFIRMATIONS_PATCH = 'opt-in-confirmations';

export class ContactActor {
  /** false on a contact's first run until the opt-out list has been read: until then nothing is "allowed" */
  seeded: boolean;
  /** an opt-out or START seen in this run: the contact's own later act, which an older list entry must not override */
  private consentActSeen = false;

  constructor(
    readonly state: ContactState,
    /** the settings of an actor's first start, from before texts carried them (ContactWorkflowSettings.keywords) */
    private readonly startedWithKeywords: KeywordSettings | undefined,
    seeded: boolean,
    /** how many message ids are remembered: the runs of corpus v1 and v2 keep their 500, so they replay exactly */
    private readonly dedupeWindow: number = DEDUPE_WINDOW,
    /** OPT_OUT_HARDENING_PATCH: read once per run */
    readonly hardened: boolean = false,
  ) {
    this.seeded = seeded;
  }

  receiveInbound(raw: unknown): void {
    const parsed = inboundMessageSchema.safeParse(raw);
    if (!parsed.success || parsed.data.from !== this.state.phone) {
      this.rejectSignal('inboundMessage', parsed.success ? `from ${parsed.data.from} is not this contact` : summarise(parsed.error));
      return;
    }
    const message = parsed.data;
    if (this.state.recentMessageIds.includes(message.messageId)) {
      this.state.counts.duplicates += 1;
      log.info('duplicate inbound message ignored', { messageId: message.messageId });
      return;
    }
    this.rememberMessageId(message.messageId);
    this.state.counts.inbound += 1;
    // Rules 2 (courtesy words, repeated keywords, phrases only where they revoke) since the hardening; a run from
    // before it reads every text as it did then, so its history replays.
    const classification = classifyInbound(message.body, this.keywordSettings(message), this.hardened ? 2 : 1);
    const intent = intentFor(classification, this.state.optedOut);
    this.state.lastInbound = { messageId: message.messageId, businessNumber: message.to, intent, receivedAt: message.receivedAt };
    this.act(intent, message, classification);
    // §10: after the keyword's own effect (a YES from an opted-out contact re-subscribes first, §2), a pending double opt-in's confirmation.
    this.confirmPendingConsent(message);
  }

  private act(intent: ReturnType<typeof intentFor>, message: InboundMessage, classification: InboundClassification): void {
    switch (intent) {
      case 'opt_out':
        return this.optOutByText(message, 'keyword', classification);
      case 'revocation':
        return this.optOutByText(message, 'revocation', classification);
      case 'resubscribe':
        return this.resubscribe(message, classification);
      case 'help':
        this.state.counts.helpRequests += 1;
        this.record('help_requested', message.receivedAt, message.to, null, this.readAs(message, classification));
        return this.reply('help', message, classification);
      case 'needs_review':
        return this.flagForReview(message, classification.matched);
      case 'message':
        return this.noteConversation(message);
    }
  }

  /**
   * Keyword settings are the account's, and each text read through the edge carries them (only what differs from the
   * defaults): a change reaches every contact from its next text, and a replay reads each text exactly as it was read,
   * from its own signal. A text sent without them is read with the settings the latest one carried.
   */
  private keywordSettings(message: InboundMessage): KeywordSettings {
    if (message.keywords !== undefined) this.state.keywords = message.keywords;
    if (this.state.keywords !== undefined) return keywordSettingsFrom(this.state.keywords);
    return this.startedWithKeywords ?? DEFAULT_KEYWORD_SETTINGS;
  }

  /** An inbound text's evidence, with what it was read as and the settings it was read with (the ledger's proof). */
  private readAs(message: InboundMessage, classification: InboundClassification): Record<string, unknown> {
    return { ...inboundEvidence(message), matched: classification.matched, keywordSettings: this.state.keywords ?? keywordSettingsChanges(this.startedWithKeywords ?? DEFAULT_KEYWORD_SETTINGS) };
  }

  /** Add-only: an opt-out already in force keeps its original record. */
  recordOptOut(raw: unknown): void {
    const parsed = recordOptOutSchema.safeParse(raw);
    if (!parsed.success) {
      this.rejectSignal('recordOptOut', summarise(parsed.error));
      return;
    }
    if (this.state.optedOut) return;
    const input = parsed.data;
    // No SMS for these: the contact did not text us, so their own first STOP will still be confirmed.
    this.optOut({ ...input, text: null, messageId: null }, false);
  }

  /** The update form of recordOptOut: says whether this record is the opt-out in force, or an earlier one is. */
  applyOptOut(raw: unknown): ApplyOptOutResult {
    const input = recordOptOutSchema.parse(raw);
    this.recordOptOut(input);
    const optOut = this.state.optOut!;
    const ours = optOut.source === input.source && optOut.reference === input.reference && optOut.recordedBy === input.recordedBy;
    return { outcome: ours ? 'opted_out' : 'already_opted_out', optOut };
  }

  canSend(raw: unknown): CanSendResult {
    const request = canSendRequestSchema.parse(raw);
    // Fail closed while a new run has not read the opt-out list: the caller retries, it never gets a guess.
    if (!this.seeded && !this.state.optedOut) throw new Error(STATE_LOADING);
    return evaluateSend(this.state, request, new Date().toISOString());
  }

  /** A new run (the earlier one was closed) starts from the opt-out list, unless the contact already spoke since. */
  restoreOptOut(listed: OptOutRecord | null): void {
    this.seeded = true;
    if (!listed || this.state.optedOut || this.consentActSeen) return;
    this.state.optedOut = true;
    this.state.optOut = listed;
    // The list does not say whether it was confirmed; a texted opt-out was, so a repeated STOP gets no second one.
    this.state.optOutConfirmed = listed.source === 'keyword' || listed.source === 'revocation';
    this.record('opt_out_restored', listed.at, listed.businessNumber, listed.source, { from: 'opt_outs', optOut: listed });
    this.publish();
  }

  /** Stores a consent with its evidence; an opted-out contact keeps it for when they re-subscribe. */
  recordConsent(raw: unknown): void {
    const parsed = consentInputSchema.safeParse(raw);
    if (!parsed.success) {
      this.rejectSignal('recordConsent', summarise(parsed.error));
      return;
    }
    const consent = parsed.data;
    const check = checkConsentEvidence(consent);
    if (!check.ok) {
      // The edge refuses these with 422 first; a signal sent past it is refused here too, never stored.
      this.state.counts.consentsRefused += 1;
      log.warn('consent refused', { rule: check.rule, reason: check.reason });
      this.record('consent_refused', consent.grantedAt, consent.businessNumber, check.rule, { reason: check.reason, consent });
      return;
    }
    // Since the compliance clock (corpus v6) a consent may say how it is confirmed by text; a history recorded before
    // it read such a signal as a plain consent, and replays so.
    const confirmation = consent.confirmation !== undefined && patched(OPT_IN_CONFIRMATIONS_PATCH) ? consent.confirmation : undefined;
    const { confirmation: _confirmation, ...given } = consent;
    if (confirmation?.mode === 'double_opt_in' && !this.holdsConsent(given)) return this.awaitConfirmation(given, confirmation);
    const held = this.holdConsent(given, { evidence: consent.source });
    // CTIA 5.1.2.1: one confirmation per consent (the same consent again is held already, and gets none).
    if (held.outcome === 'added' && confirmation?.confirm) this.confirmOptIn(given, confirmation.from, held.evidenceKey, held.evidenceKey);
  }

  private holdsConsent(consent: Omit<ConsentInput, 'confirmation'>): boolean {
    return this.state.consents.some((c) => consentScope(c) === consentScope({ ...consent, program: consent.program ?? null }));
  }

  /** Stores a consent as decisions read it; its evidence goes to the ledger, every time it is given. */
  private holdConsent(consent: Omit<ConsentInput, 'confirmation'>, evidence: Record<string, unknown>, grantedAt = consent.grantedAt): { outcome: ReturnType<typeof addConsent>; evidenceKey: string } {
    const held = addConsent(this.state, {
      type: consent.type,
      source: consent.source.kind,
      businessNumber: consent.businessNumber,
      messageTypes: consent.messageTypes,
      program: consent.program ?? null,
      grantedAt,
    });
    if (held === 'full') log.warn('consent not kept in state: the contact already holds the most distinct consents it keeps', { held: this.state.consents.length });
    this.state.counts.consentsRecorded += 1;
    const evidenceKey = this.record('consent_recorded', grantedAt, consent.businessNumber, consent.source.kind, {
      type: consent.type,
      messageTypes: consent.messageTypes,
      program: consent.program ?? null,
      ...evidence,
      ...(consent.recipientLocation ? { recipientLocation: consent.recipientLocation } : {}),
      optedOutWhenRecorded: this.state.optedOut,
      ...(held === 'added' ? {} : { keptInState: false, why: held === 'already_held' ? 'the same consent is already held' : 'the contact holds the most distinct consents kept' }),
    });
    return { outcome: held, evidenceKey };
  }

  /**
   * consent-rules.md §10, double opt-in: the consent waits, with its form's evidence, for the contact's Y; the request
   * goes out now (never to an opted-out contact). A new form for the same consent replaces the one pending.
   */
  private awaitConfirmation(consent: Omit<ConsentInput, 'confirmation'>, confirmation: ConsentConfirmation): void {
    const now = new Date().toISOString();
    this.state.counts.doubleOptInsRequested += 1;
    const scope = consentScope({ ...consent, program: consent.program ?? null });
    const superseded = this.state.pendingConsents.find((p) => consentScope({ ...p.consent, program: p.consent.program ?? null }) === scope);
    const expiresAt = confirmation.expiresAt ?? new Date(Date.now() + 30 * 86_400_000).toISOString();
    const withheld = this.state.optedOut ? 'the contact is opted out: no opt-in request reaches them (a YES from them re-subscribes and confirms)' : confirmation.from === null ? 'no business number to send it from' : null;
    const evidenceKey = this.record('consent_pending', consent.grantedAt, consent.businessNumber, consent.source.kind, {
      type: consent.type,
      messageTypes: consent.messageTypes,
      program: consent.program ?? null,
      evidence: consent.source,
      ...(consent.recipientLocation ? { recipientLocation: consent.recipientLocation } : {}),
      expiresAt,
      requestFrom: confirmation.from,
      confirmingReplies: confirmation.keywords,
      ...(withheld ? { requestWithheld: withheld } : {}),
      ...(superseded ? { replaces: superseded.evidenceKey } : {}),
    });
    const pending: PendingConsent = { evidenceKey, consent, from: confirmation.from, keywords: confirmation.keywords, requestedAt: now, expiresAt, confirm: confirmation.confirm };
    const kept = [...this.state.pendingConsents.filter((p) => p !== superseded), pending];
    for (const dropped of kept.slice(0, Math.max(0, kept.length - MAX_PENDING_CONSENTS))) {
      this.record('consent_expired', now, dropped.consent.businessNumber, dropped.consent.source.kind, { pendingEvidenceKey: dropped.evidenceKey, why: `more than ${MAX_PENDING_CONSENTS} double opt-ins were pending: the oldest gave way` });
    }
    this.state.pendingConsents = kept.slice(-MAX_PENDING_CONSENTS);
    // A replaced form's request already went out: the contact is not asked twice.
    if (withheld === null && superseded === undefined) {
      this.queueConsentText('opt_in_request', confirmation.from!, evidenceKey, consent.program ?? null, evidenceKey, confirmation.keywords[0]);
    }
  }

  /** A reply that confirms a pending double opt-in (its keyword, on the number the request went from, in time). */
  private confirmPendingConsent(message: InboundMessage): void {
    if (this.state.pendingConsents.length === 0) return;
    const reply = normaliseInboundText(message.body);
    const now = new Date().toISOString();
    const pending = this.state.pendingConsents.find((p) => (p.from === null || p.from === message.to) && p.keywords.includes(reply) && p.expiresAt > now);
    if (!pending) return;
    this.state.pendingConsents = this.state.pendingConsents.filter((p) => p !== pending);
    // Both pieces of evidence: the form, and the contact's own confirming text.
    const held = this.holdConsent(pending.consent, { evidence: pending.consent.source, confirmedBy: inboundEvidence(message), doubleOptIn: { pendingEvidenceKey: pending.evidenceKey, requestedAt: pending.requestedAt } }, message.receivedAt);
    if (held.outcome === 'added' && pending.confirm) this.confirmOptIn(pending.consent, pending.from ?? message.to, held.evidenceKey, message.messageId);
  }

  /** Double opt-ins whose window closed: recorded as expired, never as consent. */
  expirePendingConsents(): void {
    const now = new Date().toISOString();
    const expired = this.state.pendingConsents.filter((p) => p.expiresAt <= now);
    if (expired.length === 0) return;
    this.state.pendingConsents = this.state.pendingConsents.filter((p) => p.expiresAt > now);
    for (const pending of expired) {
      this.record('consent_expired', now, pending.consent.businessNumber, pending.consent.source.kind, {
        pendingEvidenceKey: pending.evidenceKey,
        program: pending.consent.program ?? null,
        requestedAt: pending.requestedAt,
        expiresAt: pending.expiresAt,
        why: 'no confirming reply within the window',
      });
    }
  }

  /** CTIA 5.1.2.1: the opt-in confirmation, once per consent, never to an opted-out contact (the ledger says why not). */
  private confirmOptIn(consent: Omit<ConsentInput, 'confirmation'>, from: string | null, evidenceKey: string, cause: string): void {
    const why = this.state.optedOut ? 'the contact is opted out' : from === null ? 'no business number to send it from' : null;
    if (why !== null) {
      this.record('reply_withheld', new Date().toISOString(), from, 'opt_in_confirmation', { consentEvidenceKey: evidenceKey, why });
      return;
    }
    this.queueConsentText('opt_in_confirmation', from!, evidenceKey, consent.program ?? null, cause);
  }

  /** An opt-in text, keyed to the consent it is for: sent once whatever retries. */
  private queueConsentText(kind: 'opt_in_request' | 'opt_in_confirmation', from: string, evidenceKey: string, program: string | null, cause: string, confirmKeyword?: string): void {
    this.state.pendingReplies.push({
      kind,
      idempotencyKey: `reply:${kind}:${this.state.phone}:${from}:${evidenceKey}`,
      businessNumber: from,
      inboundMessageId: cause,
      optedOutWhenDecided: this.state.optedOut,
      decidedAt: new Date().toISOString(),
      program,
      ...(confirmKeyword !== undefined ? { confirmKeyword } : {}),
    });
  }

  /**
   * The send gate's one step: decide this send now and, if it is allowed, hold its place (its cap slot) until it is
   * settled. The same key again (a retried attempt) gives up its old place and is decided again, so an opt-out
   * accepted in between refuses it. Called only once the run is seeded.
   */
  reserveSend(raw: unknown): CanSendResult {
    const request = reserveSendRequestSchema.parse(raw);
    const now = new Date().toISOString();
    settleReservation(this.state, request.idempotencyKey);
    expireReservations(this.state, now);
    const decision = evaluateSend(this.state, request, now);
    if (!decision.allowed) return decision;
    if (this.state.reservations.length >= MAX_SEND_RESERVATIONS) {
      return {
        ...decision,
        allowed: false,
        code: 'IN_FLIGHT_LIMIT',
        reason: `${this.state.reservations.length} sends to ${this.state.phone} are already decided and not yet settled (at most ${MAX_SEND_RESERVATIONS}); refused, try again once they settle`,
      };
    }
    const { idempotencyKey, from, type, program } = request;
    this.state.reservations.push({ idempotencyKey, from, type, program: program?.id ?? null, reservedAt: now });
    return decision;
  }

  /** A reserved send that will not go out (the provider refused it for good): its slot is freed. */
  releaseSend(raw: unknown): void {
    const parsed = releaseSendSchema.safeParse(raw);
    if (!parsed.success) return this.rejectSignal('releaseSend', summarise(parsed.error));
    settleReservation(this.state, parsed.data.idempotencyKey);
  }

  messageSent(raw: unknown): void {
    const parsed = messageSentSchema.safeParse(raw);
    if (!parsed.success) return this.rejectSignal('messageSent', summarise(parsed.error));
    settleReservation(this.state, parsed.data.idempotencyKey);
    if (this.state.sentMessages.some((sent) => sent.idempotencyKey === parsed.data.idempotencyKey)) return;
    recordSend(this.state, parsed.data);
    this.state.counts.messagesSent += 1;
    if (parsed.data.type !== 'conversational') this.state.counts.businessMessagesSent += 1;
  }

  sendRefused(raw: unknown): void {
    const parsed = sendRefusedSchema.safeParse(raw);
    if (!parsed.success) return this.rejectSignal('sendRefused', summarise(parsed.error));
    settleReservation(this.state, parsed.data.idempotencyKey);
    if (this.state.sendRefusals.some((refusal) => refusal.idempotencyKey === parsed.data.idempotencyKey)) return;
    this.state.sendRefusals = [...this.state.sendRefusals, { ...parsed.data, reason: stateText(parsed.data.reason) }].slice(-MAX_SEND_REFUSALS);
    this.state.counts.sendsRefused += 1;
  }

  replyDelivered(): void {
    this.state.counts.repliesSent += 1;
  }

  replyFailed(error: unknown, reply: SendReplyRequest): void {
    this.state.counts.repliesFailed += 1;
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    this.record('reply_failed', new Date().toISOString(), reply.businessNumber, reply.kind, {
      idempotencyKey: reply.idempotencyKey,
      inboundMessageId: reply.inboundMessageId,
      error: cause instanceof Error ? cause.message : String(error),
    });
    // consent-rules.md §4 (beyond): the provider says the recipient opted out there, so they are opted out here too.
    if (cause instanceof ApplicationFailure && cause.type === 'RecipientOptedOut' && !this.state.optedOut) {
      this.optOut(
        {
          source: 'carrier',
          at: new Date().toISOString(),
          businessNumber: reply.businessNumber,
          recordedBy: 'provider',
          reference: cause.message,
          note: null,
          text: null,
          messageId: null,
        },
        false,
      );
    }
    log.warn('reply not sent', { kind: reply.kind, idempotencyKey: reply.idempotencyKey, error: String(error) });
  }

  private optOutByText(message: InboundMessage, source: OptOutSource, classification: InboundClassification): void {
    if (!this.state.optedOut) {
      this.optOut(
        {
          source,
          at: message.receivedAt,
          businessNumber: message.to,
          text: evidenceText(message.body),
          messageId: message.messageId,
          recordedBy: null,
          reference: null,
          note: null,
        },
        false,
        this.readAs(message, classification),
      );
    }
    // consent-rules.md §3: exactly one confirmation per opt-out, on the thread the STOP came in on.
    if (!this.state.optOutConfirmed) {
      this.state.optOutConfirmed = true;
      this.reply('opt_out_confirmation', message, classification);
    }
  }

  private optOut(record: OptOutRecord, confirmed: boolean, inbound?: Record<string, unknown>): void {
    this.consentActSeen = true;
    this.state.optedOut = true;
    this.state.optOut = record;
    this.state.optOutConfirmed = confirmed;
    this.state.counts.optOuts += 1;
    const { source, at, businessNumber, ...evidence } = record;
    // When it came into force here (the workflow's clock at this signal): the revocation report measures from the
    // STOP's receipt (`at`) to this, to the confirmation and to the list row (FCC 24-24, 47 CFR 64.1200(a)(10)–(12)).
    this.record('opt_out', at, businessNumber, source, { ...evidence, ...inbound, inForceAt: new Date().toISOString() });
    this.publish();
  }

  private resubscribe(message: InboundMessage, classification: InboundClassification): void {
    this.consentActSeen = true;
    if (this.state.optedOut && this.state.optOut) {
      // The channel (and API key name) that delivered it is in the evidence: only the contact lifts an opt-out.
      this.record('resubscribe', message.receivedAt, message.to, null, { ...inboundEvidence(message), endedOptOut: this.state.optOut });
      this.state.pastOptOuts = [
        ...this.state.pastOptOuts,
        {
          optOut: { ...this.state.optOut, text: this.state.optOut.text === null ? null : stateText(this.state.optOut.text) },
          endedAt: message.receivedAt,
          endedByMessageId: message.messageId,
        },
      ].slice(-MAX_PAST_OPT_OUTS);
      // The consents held before the opt-out were never deleted, so lifting the flag restores them.
      this.state.optedOut = false;
      this.state.optOut = null;
      this.state.optOutConfirmed = false;
      this.state.counts.resubscribes += 1;
      this.publish();
    }
    // A START from a subscribed contact changes nothing and is answered once with the same text.
    this.reply('resubscribe_confirmation', message, classification);
  }

  /**
   * A reply the provider already sent (it answers its own keywords, and says so with the text) is recorded as the
   * provider's, not sent again; any other is queued. Only the keyword as the provider knows it (the whole text, or
   * Twilio's OptOutType) is its to answer: a revocation in other words, or a language it lacks, is confirmed here.
   */
  private reply(kind: KeywordReplyKind, message: InboundMessage, classification: InboundClassification): void {
    const answeredBy = this.hardened ? providerAnswered(kind, message) : null;
    if (answeredBy === null) return this.queueReply(kind, message);
    this.record('provider_replied', message.receivedAt, message.to, kind, {
      provider: answeredBy.provider,
      inboundMessageId: message.messageId,
      ...(answeredBy.optOutType !== null ? { optOutType: answeredBy.optOutType } : {}),
    });
  }

  /** A reply whose turn came after it stopped being true: not sent, and the ledger says why. */
  replyWithheld(reply: PendingReply, why: string): void {
    this.state.counts.repliesWithheld += 1;
    this.record('reply_withheld', new Date().toISOString(), reply.businessNumber, reply.kind, {
      idempotencyKey: reply.idempotencyKey,
      inboundMessageId: reply.inboundMessageId,
      why,
    });
  }

  /**
   * An operator's decision on an open review flag. `opt_out` is an opt-out in force at once (source operator-recorded,
   * the flagged text and who decided as its evidence) and, since the contact revoked by text, confirmed once on that
   * thread; `not_an_opt_out` only closes the flag. Either way the flag is closed (NeedsReview counts open ones) and the
   * ledger says who decided and why. Nothing here lifts an opt-out.
   */
  resolveReview(raw: unknown): ReviewResolution {
    const input = resolveReviewSchema.parse(raw);
    const flag = this.state.reviewFlags.find((f) => f.messageId === input.messageId);
    if (!flag) return { outcome: 'not_found', decision: input.decision, optOut: this.state.optOut, openFlags: this.state.reviewFlags.length };
    const now = new Date().toISOString();
    this.state.reviewFlags = this.state.reviewFlags.filter((f) => f !== flag);
    this.record('review_resolved', now, flag.businessNumber, input.decision, {
      messageId: flag.messageId,
      flaggedText: flag.body,
      matched: flag.matched,
      flaggedAt: flag.receivedAt,
      decidedBy: input.decidedBy,
      why: input.why,
      optedOutBefore: this.state.optedOut,
    });
    if (input.decision === 'opt_out' && !this.state.optedOut) {
      this.optOut(
        // Dated at the text's receipt: that is when the contact revoked (FCC 24-24 counts from it); inForceAt says when.
        { source: 'operator-recorded', at: flag.receivedAt || now, businessNumber: flag.businessNumber, text: flag.body, messageId: flag.messageId, recordedBy: input.decidedBy, reference: `review:${flag.messageId}`, note: input.why },
        true,
        { decidedOnReview: true, flaggedAt: flag.receivedAt },
      );
      this.state.pendingReplies.push({
        kind: 'opt_out_confirmation',
        idempotencyKey: `reply:opt_out_confirmation:${this.state.phone}:${flag.businessNumber}:${flag.messageId}`,
        businessNumber: flag.businessNumber,
        inboundMessageId: flag.messageId,
        optedOutWhenDecided: true,
        decidedAt: now,
      });
    }
    this.publish();
    return { outcome: 'resolved', decision: input.decision, optOut: this.state.optOut, openFlags: this.state.reviewFlags.length };
  }

  private flagForReview(message: InboundMessage, matched: string | null): void {
    this.state.counts.reviewFlags += 1;
    this.record('review_flagged', message.receivedAt, message.to, null, { ...inboundEvidence(message), matched });
    this.state.reviewFlags = [
      ...this.state.reviewFlags,
      { messageId: message.messageId, businessNumber: message.to, body: stateText(message.body), matched, receivedAt: message.receivedAt },
    ].slice(-MAX_REVIEW_FLAGS);
    this.publish();
  }

  private noteConversation(message: InboundMessage): void {
    // An opted-out contact's ordinary reply grants nothing: only START lifts the opt-out.
    if (this.state.optedOut) return;
    const thread = this.state.threads.find((t) => t.businessNumber === message.to);
    if (thread) {
      thread.lastInboundAt = message.receivedAt;
      thread.inboundCount += 1;
    } else {
      this.state.threads.push({
        businessNumber: message.to,
        firstInboundAt: message.receivedAt,
        lastInboundAt: message.receivedAt,
        firstMessageId: message.messageId,
        inboundCount: 1,
      });
      this.state.threads = keepRecentThreads(this.state.threads);
    }
  }

  private queueReply(kind: KeywordReplyKind, message: InboundMessage): void {
    this.state.pendingReplies.push({
      kind,
      // Message ids are the caller's (or each provider's): two contacts may send the same one, and a reply keyed by
      // the id alone found the other contact's outbox row and was never sent. Keyed to the contact and the thread.
      // The unpatched key keeps corpus v1's actors (test/replay/histories/v1) replaying and finishing their replies.
      idempotencyKey: patched(REPLY_KEY_PER_CONTACT_PATCH)
        ? `reply:${kind}:${this.state.phone}:${message.to}:${message.messageId}`
        : `reply:${kind}:${message.messageId}`,
      businessNumber: message.to,
      inboundMessageId: message.messageId,
      ...(this.hardened
        ? { optedOutWhenDecided: this.state.optedOut, decidedAt: new Date().toISOString() }
        : {}),
    });
  }

  private rememberMessageId(messageId: string): void {
    this.state.recentMessageIds.push(messageId);
    if (this.state.recentMessageIds.length > this.dedupeWindow) {
      this.state.recentMessageIds.splice(0, this.state.recentMessageIds.length - this.dedupeWindow);
    }
  }

  /** Queues one ledger entry; its key (chain's first run id + sequence) is the same however often the append retries. */
  private record(event: LedgerEntry['event'], occurredAt: string, businessNumber: string | null, source: string | null, evidence: Record<string, unknown>): string {
    const info = workflowInfo();
    this.state.ledgerSeq += 1;
    const key = `${info.workflowId}:${info.firstExecutionRunId}:${this.state.ledgerSeq}`;
    this.state.pendingLedger.push({
      key,
      contact: this.state.phone,
      event,
      occurredAt,
      businessNumber,
      source,
      evidence,
      workflowId: info.workflowId,
      runId: info.runId,
    });
    return key;
  }

  private rejectSignal(signal: string, why: string): void {
    this.state.counts.rejectedSignals += 1;
    log.warn('signal payload rejected; state unchanged', { signal, why });
  }

  /** Keeps the Web UI's view current: search attributes for finding the contact, details for reading it. */
  publish(): void {
    const { optedOut, optOut, reviewFlags } = this.state;
    // Only what changed: an upsert is a command in the history and a visibility write on the server.
    const current = workflowInfo().typedSearchAttributes;
    const changed = [
      { key: optedOutAttribute, value: optedOut },
      { key: needsReviewAttribute, value: reviewFlags.length > 0 },
      { key: optOutSourceAttribute, value: optOut?.source ?? null },
    ].filter(({ key, value }) => (current.get(key) ?? null) !== value);
    if (changed.length > 0) upsertSearchAttributes(changed);
    setCurrentDetails(
      optedOut && optOut
        ? `**Opted out** since ${optOut.at} (source: ${optOut.source}${optOut.businessNumber ? `, on ${optOut.businessNumber}` : ''})`
        : `Subscribed. Threads: ${this.state.threads.map((t) => t.businessNumber).join(', ') || 'none'}. Review flags: ${reviewFlags.length}`,
    );
  }
}

/** The canSend query's error while a new run reads the opt-out list: the client retries it within its deadline. */
export const STATE_LOADING = 'STATE_LOADING: the contact actor is reading the opt-out list; ask again';

/** Whether a failed query failed only because the actor was still loading (anywhere in the error's cause chain). */
export function isStateLoading(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.message.includes('STATE_LOADING')) return true;
  }
  return false;
}

/** What an inbound text leaves as evidence: the text as stored, and what arrived when it had to be changed. */
function inboundEvidence(message: InboundMessage): Record<string, unknown> {
  return {
    // A text longer than any SMS (it was classified whole) is kept to its first 1,600 characters, with its length.
    text: evidenceText(message.body),
    messageId: message.messageId,
    ...(message.body.length > MAX_MESSAGE_BODY_LENGTH ? { textLength: message.body.length } : {}),
    ...(message.bodyTruncatedFrom !== undefined ? { textTruncatedAtEdgeFrom: message.bodyTruncatedFrom } : {}),
    ...(message.unverifiedNumber ? { unverifiedNumber: true } : {}),
    ...(message.channel !== undefined ? { channel: message.channel } : {}),
    ...(message.originalBody ? { originalText: message.originalBody } : {}),
    ...(message.receivedAtClaimed !== undefined ? { receivedAtClaimed: message.receivedAtClaimed } : {}),
  };
}

/** What the ledger keeps of a text: all of any real SMS (1,600 characters), never more. */
function evidenceText(body: string): string {
  return body.length > MAX_MESSAGE_BODY_LENGTH ? body.slice(0, MAX_MESSAGE_BODY_LENGTH) : body;
}

/** A reply call that failed for want of time (timed out, or its next retry would not fit), not for good. */
function retryable(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  const cause = error.cause;
  if (cause instanceof TimeoutFailure) return true;
  return cause instanceof ApplicationFailure && !cause.nonRetryable && !NON_RETRYABLE_REPLY_ERRORS.includes(cause.type ?? '');
}

/** A reply still unsent a day after it was decided (a reply carried from before the hardening: a day from now). */
function replyExpired(reply: PendingReply): boolean {
  reply.decidedAt ??= new Date().toISOString();
  return Date.now() - Date.parse(reply.decidedAt) >= REPLY_GIVE_UP_AFTER_MS;
}

/** The provider, when the deployment says it answers this kind of keyword itself and this text is one it answers. */
function providerAnswered(kind: KeywordReplyKind, message: InboundMessage): ProviderKeywordReplies | null {
  const replies = message.providerReplies;
  if (replies === undefined) return null;
  const { keywords, optOutType } = { opt_out_confirmation: { keywords: replies.optOut, optOutType: 'STOP' }, resubscribe_confirmation: { keywords: replies.resubscribe, optOutType: 'START' }, help: { keywords: replies.help, optOutType: 'HELP' } }[kind];
  if (replies.optOutType !== null) return replies.optOutType === optOutType ? replies : null;
  // The provider matches the whole text, case aside (Twilio: "only single-word messages"): anything more, it left to us.
  const text = message.body.trim().toUpperCase();
  return keywords.some((keyword) => keyword.toUpperCase() === text) ? replies : null;
}

function summarise(error: Parameters<typeof describeIssues>[0]): string {
  return describeIssues(error).map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}

export async function contactWorkflow(input: ContactWorkflowInput): Promise<void> {
  const settings = input.settings ?? {};
  const firstRun = input.state === undefined;
  const rotateWithQueuedWork = patched(ROTATE_WITH_QUEUED_WORK_PATCH);
  const hardened = patched(OPT_OUT_HARDENING_PATCH);
  // A state carried from an older version gets a typed default for every field it lacks, and the current bounds.
  const state: ContactState = settleContactState(input.phone, input.state);
  const actor = new ContactActor(state, settings.keywords, !firstRun, rotateWithQueuedWork ? DEDUPE_WINDOW : LEGACY_DEDUPE_WINDOW, hardened);
  // Messages handled in this run: a count replay reproduces exactly, unlike the history length read between two
  // local activities of one task (rotating on that failed a live actor's replay in a first try).
  let handledThisRun = 0;
  // Since the hardening, the history's length as this run's own work counts it (EVENTS_PER), never read from the
  // server: `historyLength` read between two local activities of one task differs on replay, and a rotation decided
  // on it scheduled its last ledger appends where the replay did not ("Missing associated machine for LocalActivity").
  let eventsThisRun = 0;
  const spend = (events: number) => {
    eventsThisRun += events;
  };
  const counted =
    <A extends unknown[], R>(handle: (...args: A) => R) =>
    (...args: A): R => {
      handledThisRun += 1;
      spend(EVENTS_PER.message);
      return handle(...args);
    };
  setHandler(inboundMessageSignal, counted((message) => actor.receiveInbound(message)));
  setHandler(recordOptOutSignal, counted((record) => actor.recordOptOut(record)));
  setHandler(recordConsentSignal, counted((consent) => actor.recordConsent(consent)));
  setHandler(messageSentSignal, counted((sent) => actor.messageSent(sent)));
  setHandler(sendRefusedSignal, counted((refusal) => actor.sendRefused(refusal)));
  setHandler(releaseSendSignal, counted((release) => actor.releaseSend(release)));
  setHandler(
    reserveSendUpdate,
    counted(async (request) => {
      // Nothing is allowed before a new run has read the opt-out list.
      await condition(() => actor.seeded);
      return actor.reserveSend(request);
    }),
    { validator: (request) => void reserveSendRequestSchema.parse(request) },
  );
  setHandler(
    resolveReviewUpdate,
    counted(async (decision) => {
      await condition(() => actor.seeded);
      return actor.resolveReview(decision);
    }),
    {
      validator: (decision) => {
        const parsed = resolveReviewSchema.safeParse(decision);
        if (!parsed.success) throw new Error(`invalid review decision: ${summarise(parsed.error)}`);
      },
    },
  );
  setHandler(contactStateQuery, () => state);
  setHandler(canSendQuery, (request) => actor.canSend(request));
  // Asked by a retry of the reply activity before it calls the provider again: is the reply still true?
  setHandler(replyStalenessQuery, (idempotencyKey) => {
    const pending = state.pendingReplies.find((reply) => reply.idempotencyKey === idempotencyKey);
    return pending === undefined ? 'the reply is no longer pending' : replyStaleness(pending, state);
  });
  setHandler(
    applyOptOutUpdate,
    async (record) => {
      await condition(() => actor.seeded);
      const result = actor.applyOptOut(record);
      if (!hardened) return result;
      // Answered once the opt-out is in force here and, unless the database is down, on the opt-out list too.
      const unlisted = () => state.pendingLedger.some((entry) => entry.event === 'opt_out');
      if (!unlisted()) return { ...result, listed: true };
      spend(EVENTS_PER.timer);
      const listed = await condition(() => !unlisted(), OPT_OUT_LISTING_WAIT);
      return { ...result, listed };
    },
    {
      // A malformed opt-out fails to its caller, naming the field and why; nothing reaches the history.
      validator: (record) => {
        const parsed = recordOptOutSchema.safeParse(record);
        if (!parsed.success) throw new Error(`invalid opt-out: ${summarise(parsed.error)}`);
      },
    },
  );
  actor.publish();

  // Handlers are set first, so a STOP arriving with this start applies at once; the list read only adds to it.
  if (firstRun) actor.restoreOptOut(input.listedOptOut !== undefined ? input.listedOptOut : await ledgerActivities.loadOptOut(state.phone));

  const continueAsNewAfter = settings.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS;
  const rotationDue = hardened
    ? () => eventsThisRun >= continueAsNewAfter
    : () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= continueAsNewAfter;
  // A run that has handled its share of messages (each one several events) rotates even if its queues never empty:
  // each loop finishes the piece of work it holds and takes no other, and the rest is carried in the state.
  const holdForRotation = () => rotateWithQueuedWork && handledThisRun >= Math.max(1, Math.floor(continueAsNewAfter / 4));
  let working = 0;

  const flushLedger = async () => {
    while (state.pendingLedger.length > 0 && !holdForRotation()) {
      const batch = state.pendingLedger.slice(0, LEDGER_BATCH);
      spend(EVENTS_PER.localActivity);
      await ledgerActivities.appendLedgerEntries(batch);
      state.pendingLedger.splice(0, batch.length);
    }
  };

  // Since the hardening, a reply the provider keeps failing rests between calls: `working` does not count it then, so
  // the history may rotate (carrying it), and `idle` does not wait for it.
  let replyResting = false;
  let replyCalls = 0;
  const restReply = async () => {
    replyResting = true;
    working -= 1;
    spend(EVENTS_PER.timer);
    await sleep(REPLY_RETRY_DELAYS_MS[Math.min(replyCalls, REPLY_RETRY_DELAYS_MS.length) - 1]!);
    working += 1;
    replyResting = false;
  };

  // Replies go out in the order they were decided, each exactly once (idempotency key from the inbound id).
  const sendPendingReplies = async () => {
    while (state.pendingReplies.length > 0 && !holdForRotation()) {
      const pending = state.pendingReplies[0]!;
      const reply: SendReplyRequest = {
        kind: pending.kind,
        idempotencyKey: pending.idempotencyKey,
        businessNumber: pending.businessNumber,
        inboundMessageId: pending.inboundMessageId,
        contact: state.phone,
        ...(pending.program !== undefined ? { program: pending.program } : {}),
        ...(pending.confirmKeyword !== undefined ? { confirmKeyword: pending.confirmKeyword } : {}),
      };
      // Opt-in texts (corpus v6) are checked in every run: none is sent to a contact who opted out since.
      const stale = hardened || OPT_IN_REPLY_KINDS.includes(pending.kind) ? replyStaleness(pending, state) : null;
      if (stale !== null) {
        actor.replyWithheld(pending, stale);
        state.pendingReplies.shift();
        continue;
      }
      const options = { ...(hardened ? HARDENED_REPLY_ACTIVITY_OPTIONS : REPLY_ACTIVITY_OPTIONS), summary: `${REPLY_LABELS[reply.kind]} to ${state.phone} from ${reply.businessNumber}` };
      try {
        spend(EVENTS_PER.activity);
        const sent = await replyActivities.sendReply.executeWithOptions(options, [hardened ? { ...reply, recheck: true } : reply]);
        if (sent.unrecordedEvidence) state.pendingLedger.push(sent.unrecordedEvidence);
        actor.replyDelivered();
      } catch (error) {
        const cause = error instanceof ActivityFailure ? error.cause : undefined;
        if (hardened && cause instanceof ApplicationFailure && cause.type === REPLY_NO_LONGER_TRUE) {
          // A retry of the reply asked this actor first (replyStalenessQuery): a STOP or START meanwhile made it untrue.
          actor.replyWithheld(pending, cause.message);
          replyCalls = 0;
          state.pendingReplies.shift();
          continue;
        }
        if (hardened && retryable(error) && !replyExpired(pending)) {
          // Still failing after a call's minute (its retries ran out of time): the reply keeps its place and its turn comes again after a rest
          // (checked again then: a STOP meanwhile may have made it untrue).
          replyCalls += 1;
          await restReply();
          continue;
        }
        actor.replyFailed(error, reply);
      }
      replyCalls = 0;
      state.pendingReplies.shift();
    }
  };

  // Evidence never waits behind a reply (a provider outage retries one for a day), nor a reply behind the ledger
  // (a database outage): each has a loop of its own. Work in flight stays at the head of its queue until done, so a
  // queue carried through continue-as-new is taken up where it stopped; appends and replies are keyed, never doubled.
  // A loop that fails fails the workflow task (retried), never the worker: a floating rejection would end its thread.
  let loopFailure: unknown;
  const drainWhenPending = async (pending: () => boolean, drain: () => Promise<void>) => {
    for (;;) {
      await condition(() => pending() && !holdForRotation());
      working += 1;
      await drain();
      working -= 1;
    }
  };
  for (const [pending, drain] of [
    [() => state.pendingLedger.length > 0, flushLedger],
    [() => state.pendingReplies.length > 0, sendPendingReplies],
  ] as const) {
    drainWhenPending(pending, drain).catch((error: unknown) => {
      loopFailure ??= error;
    });
  }

  // §10: a durable timer to the earliest pending double opt-in's expiry (only a contact with one pending has it; a
  // rotation drops the timer and the next run sets it again from the state).
  const expireWhenDue = async () => {
    for (;;) {
      await condition(() => state.pendingConsents.length > 0);
      const earliest = state.pendingConsents.reduce((soonest, p) => (p.expiresAt < soonest.expiresAt ? p : soonest));
      const wait = Date.parse(earliest.expiresAt) - Date.now();
      if (wait > 0) {
        spend(EVENTS_PER.timer);
        const changed = () => !state.pendingConsents.includes(earliest);
        await condition(changed, wait, { summary: `double opt-in${earliest.consent.program ? ` to ${earliest.consent.program}` : ''} expires at ${earliest.expiresAt} unless confirmed` });
      }
      actor.expirePendingConsents();
    }
  };
  expireWhenDue().catch((error: unknown) => {
    loopFailure ??= error;
  });

  const idle = () => (state.pendingReplies.length === 0 || replyResting) && state.pendingLedger.length === 0;
  await condition(
    () =>
      loopFailure !== undefined ||
      (rotateWithQueuedWork
        ? (holdForRotation() || (rotationDue() && idle())) && working === 0 && allHandlersFinished()
        : rotationDue() && idle() && allHandlersFinished()),
  );
  if (loopFailure !== undefined) throw loopFailure;
  // Evidence is appended before the history rotates, in this task, so the carried state is not the queue's size.
  if (rotateWithQueuedWork) {
    try {
      while (state.pendingLedger.length > 0) {
        const batch = state.pendingLedger.slice(0, LEDGER_BATCH);
        await rotationLedgerActivities.appendLedgerEntries(batch);
        state.pendingLedger.splice(0, batch.length);
      }
    } catch (error) {
      log.warn('ledger entries carried into the next run: the ledger did not take them', { pending: state.pendingLedger.length, error: String(error) });
    }
  }
  // An actor started with keyword settings in its input keeps reading texts without settings as it did, from its state.
  if (state.keywords === undefined && settings.keywords !== undefined) state.keywords = keywordSettingsChanges(settings.keywords);
  const next = actorSettings(settings);
  await continueAsNew<typeof contactWorkflow>({ phone: state.phone, state, ...(next ? { settings: next } : {}) });
}
