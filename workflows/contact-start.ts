/**
 * How any starter (the client library, the suppression import) starts a contact's actor: one id scheme, one set of
 * search attributes and summaries, so every actor reads the same in the Web UI however it began. No Node imports.
 */
import type { ContactWorkflowInput, ContactWorkflowSettings } from './contact';
import { contactPhoneAttribute, needsReviewAttribute, optedOutAttribute } from './search-attributes';

export function contactWorkflowId(phone: string): string {
  return `contact:${phone}`;
}

export function contactStartOptions(phone: string, taskQueue: string, settings?: ContactWorkflowSettings) {
  const args: [ContactWorkflowInput] = [{ phone, settings }];
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
