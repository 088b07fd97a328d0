/**
 * Reply templates and limits, named once. Pure: used by the workflow and the activities alike.
 * Keyword sets live beside the classifier in keywords.ts.
 */

/** consent-rules.md §3 (seed): the one message an opted-out contact may still receive. */
export const OPT_OUT_CONFIRMATION_TEMPLATE = 'You have been unsubscribed. Reply START to resubscribe.';
/** consent-rules.md §3 (seed): sent on re-subscribe, and once to a START from a contact who is not opted out. */
export const RESUBSCRIBE_CONFIRMATION_TEMPLATE =
  'You have been resubscribed to messages from {business}. Reply STOP to unsubscribe.';
/** consent-rules.md §3 (CTIA): business name, how to get help, frequency, rates notice, opt-out instruction. */
export const HELP_REPLY_TEMPLATE =
  '{business}: for help, {helpContact}. {frequency}. Msg & data rates may apply. Reply STOP to unsubscribe.';

/**
 * CTIA Messaging Principles 5.1.2.1: once a consent to a recurring program is recorded, one confirmation with the
 * program's name, its frequency, the rates notice, HELP and STOP. Never to an opted-out contact (consent-rules.md §10).
 */
export const OPT_IN_CONFIRMATION_TEMPLATE =
  '{business}: you are subscribed to {description}. {frequency}. Msg & data rates may apply. Reply HELP for help, STOP to cancel.';
/** consent-rules.md §10: a double opt-in's request: the same disclosures, and how to confirm (Attentive's two-tap flow). */
export const OPT_IN_REQUEST_TEMPLATE =
  '{business}: reply {confirmKeyword} to confirm you want {description}. {frequency}. Msg & data rates may apply. Reply HELP for help, STOP to cancel.';

/** What an opt-in request or confirmation says about the program it is for (the program's, or the account's). */
export interface ProgramFacts {
  businessName: string;
  description: string;
  frequency: string;
}

/** What the account tells its contacts about itself in replies. */
export interface AccountProfile {
  businessName: string;
  helpContact: string;
  messageFrequency: string;
  /** what contacts receive when a message names no program (§6's "what they will receive") */
  programDescription: string;
}

export const DEFAULT_ACCOUNT_PROFILE: AccountProfile = {
  businessName: 'Example Co',
  helpContact: 'reply to this message or visit our website',
  messageFrequency: 'Msg frequency varies',
  programDescription: 'account notifications',
};

/** The reply activity's error when a retry finds its reply no longer true (the actor's replyStaleness query). */
export const REPLY_NO_LONGER_TRUE = 'ReplyNoLongerTrue';

export const REPLY_KINDS = ['opt_out_confirmation', 'resubscribe_confirmation', 'help', 'opt_in_request', 'opt_in_confirmation'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];
/** The texts a consent (not an inbound keyword) decides: never to an opted-out contact, whatever the actor's version. */
export const OPT_IN_REPLY_KINDS: readonly ReplyKind[] = ['opt_in_request', 'opt_in_confirmation'];

/** `program`: the facts of the program an opt-in text is for (default: the account's own); `confirmKeyword`: the reply that confirms. */
export function renderReply(kind: ReplyKind, profile: AccountProfile, program?: ProgramFacts, confirmKeyword = 'Y'): string {
  const template = {
    opt_out_confirmation: OPT_OUT_CONFIRMATION_TEMPLATE,
    resubscribe_confirmation: RESUBSCRIBE_CONFIRMATION_TEMPLATE,
    help: HELP_REPLY_TEMPLATE,
    opt_in_request: OPT_IN_REQUEST_TEMPLATE,
    opt_in_confirmation: OPT_IN_CONFIRMATION_TEMPLATE,
  }[kind];
  return template
    .replaceAll('{business}', program?.businessName ?? profile.businessName)
    .replaceAll('{helpContact}', profile.helpContact)
    .replaceAll('{description}', program?.description ?? profile.programDescription)
    .replaceAll('{frequency}', program?.frequency ?? profile.messageFrequency)
    .replaceAll('{confirmKeyword}', confirmKeyword);
}

/** Double opt-ins waiting for their confirmation, kept per contact; a new one past this replaces the oldest (§10). */
export const MAX_PENDING_CONSENTS = 5;

// The contact's state is carried through every continue-as-new: each list is bounded, and long texts are cut, so a busy
// contact's payload stays under STATE_PAYLOAD_TARGET_BYTES. Full texts and evidence live in the ledger (consent-rules.md §8).
/** Inbound message ids remembered for de-duplication; provider retries arrive within minutes, so 200 is ample. */
export const DEDUPE_WINDOW = 200;
/** The window of the actors of corpus v1 and v2, kept by their runs so that a replay dedupes exactly as they did. */
export const LEGACY_DEDUPE_WINDOW = 500;
/** Review flags kept in state for the operator; older ones stay in the history and the ledger. */
export const MAX_REVIEW_FLAGS = 20;
/** Past opt-outs (each ended by a re-subscribe) kept in state. */
export const MAX_PAST_OPT_OUTS = 10;
/** The latest sends kept whole per contact: what the Web UI shows, and what a retried `messageSent` is matched against. */
export const MAX_SENT_MESSAGES = 30;
/**
 * Per program, the times of its newest business sends kept for frequency caps: enough to count exactly to any cap a
 * program may declare (a cap above it is refused at declaration, and counted as reached if one is met anyway).
 */
export const MAX_COUNTED_SENDS = 100;
/** Promotional send times kept per contact for state message limits (3 per 24 h where a state sets one). */
export const MAX_COUNTED_PROMOTIONAL_SENDS = 20;
/** Programs whose sends are counted per contact; the one least recently sent is dropped first. */
export const MAX_COUNTED_PROGRAMS = 50;
/**
 * Sends allowed and reserved by the actor but not yet settled (sent, refused or released) at once per contact: each
 * holds its frequency-cap slot until settled. More in flight than this is refused, fail closed.
 */
export const MAX_SEND_RESERVATIONS = 100;
/** A reservation nothing settled within this long is counted as sent from then on (fail closed on caps). */
export const SEND_RESERVATION_LEASE_MS = 60 * 60 * 1000;
/** Refused sends kept in state; every one is in the send workflow's history and the ledger too. */
export const MAX_SEND_REFUSALS = 10;
/** Distinct consents (type, business number, message types, program) kept; the same consent twice is one. */
export const MAX_CONSENTS = 50;
/** Conversation threads (one per business number) kept; the least recently active goes first. */
export const MAX_THREADS = 100;
/** Texts kept in state (review flag bodies, past opt-out texts, refusal reasons) are cut to this many characters. */
export const MAX_STATE_TEXT = 200;
/** What test/workflows/bounded-state.test.ts holds a continue-as-new payload to, after 10,000 mixed events. */
export const STATE_PAYLOAD_TARGET_BYTES = 64 * 1024;
/** Our own bound on history length before continue-as-new; Temporal suggests it near 10k events anyway. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 2000;
