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

/**
 * What a contact's actor is started with: never the keyword settings, which each inbound text carries (they are the
 * account's, and may change while the actor lives); absent when nothing is set, so the Web UI's Input panel stays short.
 */
export function actorSettings(settings?: ContactWorkflowSettings): ContactWorkflowSettings | undefined {
  return settings?.continueAsNewAfterEvents !== undefined ? { continueAsNewAfterEvents: settings.continueAsNewAfterEvents } : undefined;
}

/** `listedOptOut`: the contact's opt-out list entry if the starter just read it (see ContactWorkflowInput). */
export function contactStartOptions(phone: string, taskQueue: string, settings?: ContactWorkflowSettings, listedOptOut?: OptOutRecord | null) {
  const started = actorSettings(settings);
  const args: [ContactWorkflowInput] = [{ phone, ...(started ? { settings: started } : {}), ...(listedOptOut !== undefined ? { listedOptOut } : {}) }];
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
