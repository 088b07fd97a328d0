/** Every signal and query of the contact actor, in one place. Wire names are fixed: operators use them from the CLI. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ContactState } from './domain/contact-state';
import type { CanSendRequest, CanSendResult, InboundMessage, RecordOptOutInput } from './domain/schemas';

/** An inbound SMS from the contact (signalWithStart: durably accepted even while no worker runs). */
export const inboundMessageSignal = defineSignal<[InboundMessage]>('inboundMessage');
/** Add an opt-out that did not come by text (operator, import, carrier). Add-only: nothing removes an opt-out. */
export const recordOptOutSignal = defineSignal<[RecordOptOutInput]>('recordOptOut');

/** The whole state of the contact. */
export const contactStateQuery = defineQuery<ContactState>('contactState');
/** May a message of this type go from this business number now? Used by the send pipeline. */
export const canSendQuery = defineQuery<CanSendResult, [CanSendRequest]>('canSend');
