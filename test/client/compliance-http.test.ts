/** The compliance clock through the HTTP API: held answers, GET /v1/messages/:key, double opt-in, recorded locations. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLIANT_FIRST, WEB_FORM_EVIDENCE } from '../support/consent-fixtures';
import { ALWAYS_OPEN, windowOpeningIn } from '../support/clock';
import { buildTestApi, startHarness, uniquePhone, waitFor, type Harness } from '../support/harness';
import type { ComplianceClockSettings } from '../../workflows/domain/compliance-clock';

const clock: ComplianceClockSettings = { ...ALWAYS_OPEN };
let harness: Harness;
let api: FastifyInstance;
beforeAll(async () => {
  harness = await startHarness({ clock });
  api = await buildTestApi(harness);
});
afterAll(async () => {
  await api?.close();
  await harness?.stop();
});

const FLORIDA = () => `+1305${String(200 + Math.floor(Math.random() * 700))}${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;

async function consent(phone: string, extra: Record<string, unknown> = {}) {
  return api.inject({ method: 'POST', url: '/v1/consents', payload: { phone, type: 'express_written', messageTypes: ['promotional'], source: WEB_FORM_EVIDENCE, ...extra } });
}

describe('POST /v1/messages in quiet hours', () => {
  it('answers 202 held with heldUntil, and GET /v1/messages/:key shows the message held, then sent', async () => {
    const phone = FLORIDA();
    expect((await consent(phone)).statusCode).toBe(202);
    await waitFor(() => harness.consent.getContactState(phone), (state) => state.consents.length === 1);
    Object.assign(clock, windowOpeningIn(5));
    const idempotencyKey = `http-held-${randomUUID()}`;
    const response = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: phone, from: uniquePhone(), type: 'promotional', body: COMPLIANT_FIRST, idempotencyKey } });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ status: 'held', code: 'QUIET_HOURS', idempotencyKey });
    const held = await api.inject({ method: 'GET', url: `/v1/messages/${idempotencyKey}` });
    expect(held.json()).toMatchObject({ status: 'held', heldUntil: response.json().heldUntil });
    await waitFor(async () => (await api.inject({ method: 'GET', url: `/v1/messages/${idempotencyKey}` })).json(), (row) => row.status === 'sent', { timeoutMs: 30_000, what: 'the message sent' });
    expect((await api.inject({ method: 'GET', url: '/v1/messages/no-such-key' })).statusCode).toBe(404);
  });

  it('answers 422 QUIET_HOURS with nextAllowedAt when the sender asks for a refusal', async () => {
    const phone = FLORIDA();
    await consent(phone);
    await waitFor(() => harness.consent.getContactState(phone), (state) => state.consents.length === 1);
    Object.assign(clock, windowOpeningIn(900));
    const response = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: phone, from: uniquePhone(), type: 'promotional', body: COMPLIANT_FIRST, onQuietHours: 'refuse' } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ status: 'refused', code: 'QUIET_HOURS', nextAllowedAt: expect.any(String) });
    const bad = await api.inject({ method: 'POST', url: '/v1/messages', payload: { to: phone, from: uniquePhone(), type: 'promotional', body: COMPLIANT_FIRST, onQuietHours: 'later' } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('onQuietHours');
  });
});

describe('POST /v1/consents: confirmation and location', () => {
  it('a double opt-in answers 202 pending_confirmation with its expiry; without a number to ask from it is a 400', async () => {
    Object.assign(clock, ALWAYS_OPEN);
    const phone = uniquePhone();
    const response = await consent(phone, { businessNumber: uniquePhone(), confirmation: 'double_opt_in' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ status: 'pending_confirmation', expiresAt: expect.any(String) });
    expect(Date.parse(response.json().expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const unaskable = await consent(uniquePhone(), { confirmation: 'double_opt_in' });
    expect(unaskable.statusCode).toBe(400);
    expect(JSON.stringify(unaskable.json())).toContain('confirmationFrom');
  });

  it('a recorded state or time zone must be one the clock knows, and is named when it is not', async () => {
    const badState = await consent(uniquePhone(), { recipientLocation: { state: 'ZZ' } });
    expect(badState.statusCode).toBe(400);
    expect(JSON.stringify(badState.json())).toContain('recipientLocation.state');
    const badZone = await consent(uniquePhone(), { recipientLocation: { timeZone: 'Mars/Olympus_Mons' } });
    expect(badZone.statusCode).toBe(400);
    expect(JSON.stringify(badZone.json())).toContain('recipientLocation.timeZone');
    const empty = await consent(uniquePhone(), { recipientLocation: {} });
    expect(empty.statusCode).toBe(400);
  });

  it('a recorded time zone overrides the area code: a Florida number living in Los Angeles is read in its recorded zone', async () => {
    const phone = FLORIDA();
    expect((await consent(phone, { recipientLocation: { timeZone: 'America/Los_Angeles' } })).statusCode).toBe(202);
    await waitFor(() => harness.consent.getContactState(phone), (state) => state.consents.length === 1);
    // Florida's window runs from 3.5 h to 1 h before New York's time of day: closed there now, open in the recorded
    // zone (three hours behind).
    const settings = windowOpeningIn(-3.5 * 3600, { timeZone: 'America/New_York', openFor: 2.5 * 3600 });
    Object.assign(clock, settings);
    const answer = await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(phone)}/can-send?from=${encodeURIComponent(uniquePhone())}&type=promotional` });
    const other = FLORIDA();
    await consent(other);
    await waitFor(() => harness.consent.getContactState(other), (state) => state.consents.length === 1);
    const unrecorded = await api.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(other)}/can-send?from=${encodeURIComponent(uniquePhone())}&type=promotional` });
    expect(unrecorded.json()).toMatchObject({ allowed: false, code: 'QUIET_HOURS' });
    expect(answer.json()).toMatchObject({ allowed: true });
  });

  it('POST /v1/programs takes quietHoursTypes and optInConfirmation, with their defaults', async () => {
    const id = `prog-${randomUUID().slice(0, 8)}`;
    const created = await api.inject({ method: 'POST', url: '/v1/programs', payload: { id, businessName: 'Acme', description: 'alerts', frequency: 'up to 4 msgs/month' } });
    expect(created.json()).toMatchObject({ quietHoursTypes: ['promotional'], optInConfirmation: true });
    const changed = await api.inject({ method: 'POST', url: '/v1/programs', payload: { id, businessName: 'Acme', description: 'alerts', frequency: 'up to 4 msgs/month', quietHoursTypes: ['promotional', 'transactional'], optInConfirmation: false } });
    expect(changed.statusCode).toBe(201);
    const listed = (await api.inject({ method: 'GET', url: '/v1/programs' })).json().programs.find((p: { id: string }) => p.id === id);
    expect(listed).toMatchObject({ quietHoursTypes: ['promotional', 'transactional'], optInConfirmation: false });
  });
});
