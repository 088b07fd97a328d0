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

export const REPLY_KINDS = ['opt_out_confirmation', 'resubscribe_confirmation', 'help'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

export function renderReply(kind: ReplyKind, profile: AccountProfile): string {
  const template = {
    opt_out_confirmation: OPT_OUT_CONFIRMATION_TEMPLATE,
    resubscribe_confirmation: RESUBSCRIBE_CONFIRMATION_TEMPLATE,
    help: HELP_REPLY_TEMPLATE,
  }[kind];
  return template
    .replaceAll('{business}', profile.businessName)
    .replaceAll('{helpContact}', profile.helpContact)
    .replaceAll('{frequency}', profile.messageFrequency);
}

/** Inbound message ids remembered for de-duplication; provider retries arrive within minutes, so 500 is ample. */
export const DEDUPE_WINDOW = 500;
/** Review flags kept in state for the operator; older ones stay in the history and the ledger. */
export const MAX_REVIEW_FLAGS = 50;
/** Past opt-outs (each ended by a re-subscribe) kept in state. */
export const MAX_PAST_OPT_OUTS = 20;
/** Sends remembered per contact: a month of a capped program's messages fits many times over. */
export const MAX_SENT_MESSAGES = 200;
/** Refused sends kept in state; every one is in the send workflow's history too. */
export const MAX_SEND_REFUSALS = 20;
/** Our own bound on history length before continue-as-new; Temporal suggests it near 10k events anyway. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 2000;
