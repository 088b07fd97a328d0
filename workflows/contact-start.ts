/**
 * How any starter (the client library, the suppression import) starts a contact's actor: one id scheme, one set of
 * search attributes and summaries, so every actor reads the same in the Web UI however it began. No Node imports.
 */
import type { ContactWorkflowInput, ContactWorkflowSettings } from './contact';
import type { OptOutRecord } from './domain/contact-state';
import { contactPhoneAttribute, needsReviewAttribute, optedOutAttribute } from './search-attributes';

export function contactWorkflowId(phone: string): string {
  return `contact:${phone}`;
}

/** `listedOptOut`: the contact's opt-out list entry if the starter just read it (see ContactWorkflowInput). */
export function contactStartOptions(phone: string, taskQueue: string, settings?: ContactWorkflowSettings, listedOptOut?: OptOutRecord | null) {
  const args: [ContactWorkflowInput] = [{ phone, settings, ...(listedOptOut !== undefined ? { listedOptOut } : {}) }];
  return {
    workflowId: contactWorkflowId(phone),
    taskQueue,
    args,
    typedSearchAttributes: [
      { key: contactPhoneAttribute, value: phone },
      { key: optedOutAttribute, value: false },
      { key: needsReviewAttribute, value: false },
    ],
    staticSummary: `Consent actor for ${phone}`,
    staticDetails: 'Holds the consents and the opt-out of this contact, account-wide. Query `contactState` or `canSend`.',
  };
}
