/** consent-rules.md §4–§5: may a message of this type go from this business number to this contact? Pure. */
import type { ContactState } from './contact-state';
import type { CanSendRequest, CanSendResult, MessageType } from './schemas';
import type { ConsentType } from './contact-state';

/** §5: the express consents that cover each business-initiated type (conversational is checked separately). */
const CONSENTS_COVERING: Record<Exclude<MessageType, 'conversational'>, ConsentType[]> = {
  transactional: ['express', 'express_written'],
  promotional: ['express_written'],
};

export function evaluateSend(state: ContactState, request: CanSendRequest): CanSendResult {
  // §4: an opt-out is account-wide and blocks every type from every business number.
  if (state.optedOut) {
    const optOut = state.optOut;
    const where = optOut?.businessNumber ? ` on ${optOut.businessNumber}` : '';
    return {
      allowed: false,
      code: 'OPTED_OUT',
      reason: `${state.phone} opted out${where} at ${optOut?.at ?? 'an unknown time'} (source: ${optOut?.source ?? 'unknown'}); only the contact's own START can lift it`,
    };
  }
  const applicable = state.consents.filter(
    (consent) =>
      (consent.businessNumber === null || consent.businessNumber === request.from) &&
      consent.messageTypes.includes(request.type),
  );
  if (request.type === 'conversational') {
    const thread = state.threads.find((t) => t.businessNumber === request.from);
    if (thread) {
      return {
        allowed: true,
        code: 'ALLOWED',
        reason: `implied consent: the contact texted ${request.from} first (message ${thread.firstMessageId} at ${thread.firstInboundAt})`,
      };
    }
    const express = state.consents.find((c) => c.businessNumber === null || c.businessNumber === request.from);
    if (express) {
      return { allowed: true, code: 'ALLOWED', reason: `${express.type} consent (${express.source}) granted at ${express.grantedAt}` };
    }
    return {
      allowed: false,
      code: 'NO_CONSENT',
      reason: `conversational messages need the contact to have texted ${request.from} first, or an express consent; the contact has neither`,
    };
  }
  const needed = CONSENTS_COVERING[request.type];
  const covering = applicable.find((consent) => needed.includes(consent.type));
  if (covering) {
    return { allowed: true, code: 'ALLOWED', reason: `${covering.type} consent (${covering.source}) granted at ${covering.grantedAt}` };
  }
  const held = state.consents.map((c) => c.type);
  return {
    allowed: false,
    code: 'NO_CONSENT',
    reason: `${request.type} messages need ${needed.join(' or ')} consent covering them from ${request.from}; the contact has ${held.length > 0 ? held.join(', ') : 'no express consent'}`,
  };
}
