/** consent-rules.md §4–§6: may a message of this type go from this business number to this contact now? Pure. */
import type { ConsentRecord, ConsentType, ContactState } from './contact-state';
import type { CanSendRequest, CanSendResult, MessageType, SendDecisionCode } from './schemas';
import { MAX_COUNTED_SENDS } from './settings';

/** §5: the express consents that cover each business-initiated type (conversational is checked separately). */
const CONSENTS_COVERING: Record<Exclude<MessageType, 'conversational'>, ConsentType[]> = {
  transactional: ['express', 'express_written'],
  promotional: ['express_written'],
};

const PERIOD_MS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;

/** `now` is the caller's clock (the workflow's, deterministic) when the request names no time. */
export function evaluateSend(state: ContactState, request: CanSendRequest, now: string): CanSendResult {
  // The counter survives the sends list's bound; a state from before it existed still has its sends to go by.
  const firstBusinessMessage = !(state.counts.businessMessagesSent > 0) && !state.sentMessages.some((sent) => sent.type !== 'conversational');
  const decide = (code: SendDecisionCode, reason: string, nextAllowedAt?: string): CanSendResult => ({
    allowed: code === 'ALLOWED',
    code,
    reason,
    firstBusinessMessage,
    ...(nextAllowedAt !== undefined ? { nextAllowedAt } : {}),
  });

  // §4: an opt-out is account-wide and blocks every type from every business number.
  if (state.optedOut) {
    const optOut = state.optOut;
    const where = optOut?.businessNumber ? ` on ${optOut.businessNumber}` : '';
    return decide(
      'OPTED_OUT',
      `${state.phone} opted out${where} at ${optOut?.at ?? 'an unknown time'} (source: ${optOut?.source ?? 'unknown'}); only the contact's own START can lift it`,
    );
  }
  const consent = consentFor(state, request);
  if (!consent.allowed) return decide('NO_CONSENT', consent.reason);

  // §6 (beyond): a program's declared frequency is a cap, counted over a rolling window per contact and program.
  const cap = request.program?.frequencyCap;
  if (request.program && cap) {
    const at = request.at ?? now;
    const windowStart = new Date(Date.parse(at) - PERIOD_MS[cap.per]).toISOString();
    // The state keeps the newest MAX_COUNTED_SENDS times per program: exact for any cap up to it, the window whatever.
    const counted = state.programSends.find((sends) => sends.program === request.program!.id)?.sentAt ?? [];
    // Sends allowed but not yet settled hold their slots: concurrent sends cannot all pass one cap.
    const reserved = (state.reservations ?? []).filter((r) => r.program === request.program!.id && r.type !== 'conversational').length;
    const inWindow = counted.filter((sentAt) => sentAt > windowStart).length + reserved;
    // A cap beyond what is counted (refused at declaration) is held reached once the count is full: fail closed.
    const reached = inWindow >= cap.max || (cap.max > MAX_COUNTED_SENDS && inWindow >= MAX_COUNTED_SENDS);
    if (request.type !== 'conversational' && reached) {
      return decide(
        'FREQUENCY_CAP',
        `program ${request.program.id} declared at most ${cap.max} msgs/${cap.per}; ${inWindow}${inWindow >= MAX_COUNTED_SENDS ? ' or more' : ''} already went to ${state.phone} since ${windowStart}${reserved > 0 ? ` or are being sent (${reserved})` : ''}`,
      );
    }
  }
  // §9: the clock, last, so a message held for quiet hours is one that would otherwise go (a STOP meanwhile refuses it).
  const limit = request.clock?.stateLimit;
  if (limit && request.type === 'promotional') {
    const at = request.at ?? now;
    const windowStart = new Date(Date.parse(at) - limit.hours * 3_600_000).toISOString();
    // Reserved sends hold their place from when they were reserved: concurrent sends cannot all pass the limit.
    const counted = [
      ...state.promotionalSends.filter((sentAt) => sentAt > windowStart),
      ...(state.reservations ?? []).filter((r) => r.type === 'promotional').map((r) => r.reservedAt),
    ].sort();
    if (counted.length >= limit.max) {
      const freedAt = new Date(Date.parse(counted[counted.length - limit.max]!) + limit.hours * 3_600_000).toISOString();
      return decide(
        'STATE_MESSAGE_LIMIT',
        `${limit.region} allows at most ${limit.max} promotional messages to a person per ${limit.hours} hours (${limit.source}); ${counted.length} went or are going to ${state.phone} since ${windowStart}; allowed again from ${freedAt}`,
        freedAt,
      );
    }
  }
  const quiet = request.clock?.quietHours;
  if (quiet) {
    return decide(
      'QUIET_HOURS',
      `it is ${quiet.localTime} in ${quiet.timeZone}, outside the recipient's sending window (${quiet.source}); allowed from ${quiet.nextAllowedAt}`,
      quiet.nextAllowedAt,
    );
  }
  return decide('ALLOWED', consent.reason);
}

function consentFor(state: ContactState, request: CanSendRequest): { allowed: boolean; reason: string } {
  const programId = request.program?.id ?? null;
  const applies = (consent: ConsentRecord) =>
    (consent.businessNumber === null || consent.businessNumber === request.from) &&
    (consent.program == null || consent.program === programId);
  const describe = (consent: ConsentRecord) =>
    `${consent.type} consent (${consent.source}${consent.program ? `, program ${consent.program}` : ''}) granted at ${consent.grantedAt}`;

  if (request.type === 'conversational') {
    const thread = state.threads.find((t) => t.businessNumber === request.from);
    if (thread) {
      return { allowed: true, reason: `implied consent: the contact texted ${request.from} first (message ${thread.firstMessageId} at ${thread.firstInboundAt})` };
    }
    const express = state.consents.find(applies);
    if (express) return { allowed: true, reason: describe(express) };
    return {
      allowed: false,
      reason: `conversational messages need the contact to have texted ${request.from} first, or an express consent; the contact has neither`,
    };
  }
  const needed = CONSENTS_COVERING[request.type];
  const covering = state.consents.find((c) => applies(c) && c.messageTypes.includes(request.type) && needed.includes(c.type));
  if (covering) return { allowed: true, reason: describe(covering) };
  const held = state.consents.filter(applies).map((c) => `${c.type} for ${c.messageTypes.join('/')}`);
  return {
    allowed: false,
    reason: `${request.type} messages need ${needed.join(' or ')} consent covering them from ${request.from}${programId ? ` (program ${programId})` : ''}; the contact has ${held.length > 0 ? held.join(', ') : 'no express consent that applies'}`,
  };
}
