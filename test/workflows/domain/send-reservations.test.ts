/** The actor's side of the send gate, as pure rules: reservations hold cap slots, settle, expire, and are bounded. */
import { describe, expect, it } from 'vitest';
import { ContactActor } from '../../../workflows/contact';
import { evaluateSend } from '../../../workflows/domain/consent-rules';
import { emptyContactState, expireReservations, settleContactState, settleReservation, type ContactState } from '../../../workflows/domain/contact-state';
import { MAX_SEND_RESERVATIONS, SEND_RESERVATION_LEASE_MS } from '../../../workflows/domain/settings';

const PHONE = '+14155550123';
const FROM = '+14155550100';
const PROGRAM = { id: 'tips', frequencyCap: { max: 2, per: 'month' as const } };

function consented(): ContactState {
  const state = emptyContactState(PHONE);
  state.consents.push({ type: 'express_written', source: 'web_form', businessNumber: null, messageTypes: ['promotional'], program: null, grantedAt: '2026-11-01T00:00:00.000Z' });
  return state;
}

const reservation = (idempotencyKey: string, reservedAt: string) => ({ idempotencyKey, from: FROM, type: 'promotional' as const, program: PROGRAM.id, reservedAt });

describe('reservations and the frequency cap', () => {
  it('an unsettled reservation takes a slot of its program\'s cap like a send', () => {
    const state = consented();
    const now = '2026-12-01T10:00:00.000Z';
    state.reservations.push(reservation('a', now), reservation('b', now));
    const decision = evaluateSend(state, { from: FROM, type: 'promotional', program: PROGRAM }, now);
    expect(decision).toMatchObject({ allowed: false, code: 'FREQUENCY_CAP' });
    expect(decision.reason).toContain('or are being sent (2)');
    settleReservation(state, 'a');
    expect(evaluateSend(state, { from: FROM, type: 'promotional', program: PROGRAM }, now)).toMatchObject({ allowed: true });
  });

  it('a reservation does not end "first message": concurrent first messages all carry the disclosures', () => {
    const state = consented();
    state.reservations.push(reservation('a', '2026-12-01T10:00:00.000Z'));
    expect(evaluateSend(state, { from: FROM, type: 'promotional', program: null }, '2026-12-01T10:00:01.000Z').firstBusinessMessage).toBe(true);
  });

  it('a reservation nothing settled within the lease is counted as sent from then on (a slot is never freed on a guess)', () => {
    const state = consented();
    const reservedAt = '2026-12-01T10:00:00.000Z';
    state.reservations.push(reservation('stale', reservedAt));
    const later = new Date(Date.parse(reservedAt) + SEND_RESERVATION_LEASE_MS + 1000).toISOString();
    expireReservations(state, later);
    expect(state.reservations).toEqual([]);
    expect(state.sentMessages.map((s) => s.idempotencyKey)).toEqual(['stale']);
    expect(state.programSends).toEqual([{ program: PROGRAM.id, sentAt: [reservedAt] }]);
    expect(state.counts).toMatchObject({ messagesSent: 1, businessMessagesSent: 1 });
  });

  it('reservations are carried through continue-as-new, and a state from before them gets none', () => {
    const state = consented();
    state.reservations.push(reservation('a', '2026-12-01T10:00:00.000Z'));
    expect(settleContactState(PHONE, JSON.parse(JSON.stringify(state))).reservations).toEqual(state.reservations);
    const { reservations: _none, ...older } = state;
    expect(settleContactState(PHONE, older).reservations).toEqual([]);
  });
});

describe('ContactActor.reserveSend', () => {
  const request = (idempotencyKey: string) => ({ idempotencyKey, from: FROM, type: 'promotional' as const, program: null });

  it('reserving the same key again decides again in its own place: one reservation per key', () => {
    const actor = new ContactActor(consented(), undefined, true);
    expect(actor.reserveSend(request('k'))).toMatchObject({ allowed: true });
    expect(actor.reserveSend(request('k'))).toMatchObject({ allowed: true });
    expect(actor.state.reservations.map((r) => r.idempotencyKey)).toEqual(['k']);
  });

  it(`more than ${MAX_SEND_RESERVATIONS} sends in flight to one contact are refused IN_FLIGHT_LIMIT, fail closed`, () => {
    const actor = new ContactActor(consented(), undefined, true);
    for (let i = 0; i < MAX_SEND_RESERVATIONS; i++) expect(actor.reserveSend(request(`k${i}`)).allowed).toBe(true);
    expect(actor.reserveSend(request('one-more'))).toMatchObject({ allowed: false, code: 'IN_FLIGHT_LIMIT' });
    expect(actor.state.reservations).toHaveLength(MAX_SEND_RESERVATIONS);
  });

  it('an opted-out contact reserves nothing', () => {
    const state = consented();
    Object.assign(state, { optedOut: true, optOut: { source: 'keyword', at: '2026-12-01T09:00:00.000Z', businessNumber: FROM, text: 'STOP', messageId: 'SM1', recordedBy: null, reference: null, note: null } });
    const actor = new ContactActor(state, undefined, true);
    expect(actor.reserveSend(request('k'))).toMatchObject({ allowed: false, code: 'OPTED_OUT' });
    expect(actor.state.reservations).toEqual([]);
  });
});
