/** Every signal and query of the contact actor, in one place. Wire names are fixed: operators use them from the CLI. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OutboundSendResult } from '../activities/outbound-send';
import type { CampaignProgress } from './domain/campaign';
import type { ContactState, OptOutRecord } from './domain/contact-state';
import type { SuppressionImportProgress } from './domain/suppression-import';
import type { ConsentInputRaw } from './domain/consent-evidence';
import type { CanSendRequestInput, CanSendResult, InboundMessage, MessageSent, RecordOptOutInput, ReleaseSend, ReserveSendRequestInput, ResolveReview, ResolveReviewInput, SendRefused } from './domain/schemas';

/** An inbound SMS from the contact (signalWithStart: durably accepted even while no worker runs). */
export const inboundMessageSignal = defineSignal<[InboundMessage]>('inboundMessage');
/** Add an opt-out that did not come by text (operator, import, carrier). Add-only: nothing removes an opt-out. */
export const recordOptOutSignal = defineSignal<[RecordOptOutInput]>('recordOptOut');
/** An express (written) consent with its evidence. Refused sources (pre-checked box, purchased list…) are never stored. */
export const recordConsentSignal = defineSignal<[ConsentInputRaw]>('recordConsent');
/** The send pipeline tells the contact what it sent, for first-message and frequency rules. */
export const messageSentSignal = defineSignal<[MessageSent]>('messageSent');
/** The send pipeline tells the contact what it refused to send, and why. */
export const sendRefusedSignal = defineSignal<[SendRefused]>('sendRefused');

/** A reserved send that will not go out after all (the provider refused it for good): its cap slot is freed. */
export const releaseSendSignal = defineSignal<[ReleaseSend]>('releaseSend');

/**
 * The send gate: decides one send and, when it is allowed, reserves it (its frequency-cap slot) in the same step, so
 * concurrent sends cannot all pass one cap. A retried attempt reserves again and is decided again, after any STOP.
 */
export const reserveSendUpdate = defineUpdate<CanSendResult, [ReserveSendRequestInput]>('reserveSend');

/** The whole state of the contact. */
export const contactStateQuery = defineQuery<ContactState>('contactState');
/** May a message of this type go from this business number now? Used by the send pipeline. */
export const canSendQuery = defineQuery<CanSendResult, [CanSendRequestInput]>('canSend');

/** What `applyOptOutUpdate` did: `opted_out` when this record (same source and reference) is the opt-out in force. */
export interface ApplyOptOutResult {
  outcome: 'opted_out' | 'already_opted_out';
  optOut: OptOutRecord;
  /** since the opt-out hardening: whether it was on the opt-out list when the update answered (false: the database was down) */
  listed?: boolean;
}
/** `recordOptOut` that answers: the suppression import uses it to count opted-out vs already opted-out exactly. */
/**
 * Why a pending reply is no longer true (a STOP after the HELP it answers), or null: asked by a retry of the reply
 * activity before it calls the provider again. Absent on actors older than the opt-out hardening (the query fails).
 */
export const replyStalenessQuery = defineQuery<string | null, [string]>('replyStaleness');
export const applyOptOutUpdate = defineUpdate<ApplyOptOutResult, [RecordOptOutInput]>('applyOptOut');

/** What resolving a review flag did; `not_found`: no open flag has that message id (resolved already, or never flagged). */
export interface ReviewResolution {
  outcome: 'resolved' | 'not_found';
  decision: ResolveReview['decision'];
  /** the contact's opt-out after the decision (null: not opted out) */
  optOut: OptOutRecord | null;
  /** open flags left */
  openFlags: number;
}
/** An operator resolves one review flag: an opt-out, or not one. Never lifts an opt-out. */
export const resolveReviewUpdate = defineUpdate<ReviewResolution, [ResolveReviewInput]>('resolveReview');

/** A suppression import's counts so far (rows read, opted out, already opted out, duplicates, invalid). */
export const suppressionImportProgressQuery = defineQuery<SuppressionImportProgress>('progress');

/**
 * A send's first answer: sent, refused, failed, unknown, or held for quiet hours (then it goes on waiting, and its
 * result comes when the window opens). The single-send API waits on this rather than on the workflow's result.
 */
export const sendAnswerUpdate = defineUpdate<OutboundSendResult | { status: 'failed'; reason: string }>('sendAnswer');

/** A campaign's counts and status so far. */
export const campaignProgressQuery = defineQuery<CampaignProgress>('progress');
/** Stop a campaign's sending: answers once every send in flight has finished (nothing more goes until resume). */
export const pauseCampaignUpdate = defineUpdate<CampaignProgress>('pause');
export const resumeCampaignUpdate = defineUpdate<CampaignProgress>('resume');
/** Stop a campaign for good: answers once every recipient not yet sent to is `cancelled` (or holds what the gate decided). */
export const cancelCampaignUpdate = defineUpdate<CampaignProgress>('cancel');
