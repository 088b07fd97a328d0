/** consent-rules.md §9 as pure rules: quiet hours in the recipient's local time, and state message limits. */
import { describe, expect, it } from 'vitest';
import {
  FEDERAL_QUIET_HOURS,
  QUIET_HOURS_RULES,
  STATE_MESSAGE_LIMITS,
  STATE_QUIET_HOURS,
  quietHoursFor,
  quietHoursVerdict,
  recipientLocation,
  secondsOfDay,
  sendClock,
  type ComplianceClockSettings,
} from '../../../workflows/domain/compliance-clock';
import { evaluateSend } from '../../../workflows/domain/consent-rules';
import { emptyContactState, recordSend, settleContactState, type ContactState } from '../../../workflows/domain/contact-state';
import type { MessageType } from '../../../workflows/domain/schemas';
import { parseQuietHoursWindows } from '../../../client/config';

const FLORIDA = '+13055550123';
const PANHANDLE = '+18505550123'; // 850 spans Central and Eastern time
const NEW_YORK = '+12125550123';
const OKLAHOMA = '+14055550123';

function clockAt(phone: string, at: string, type: MessageType = 'promotional', extra: Partial<Parameters<typeof sendClock>[0]> = {}, settings?: ComplianceClockSettings) {
  return sendClock({ phone, type, programQuietHoursTypes: null, at, ...extra }, settings).clock;
}

describe('quiet hours in the recipient\'s local time', () => {
  const cases: { what: string; phone: string; at: string; closed: boolean; next?: string; zone?: string }[] = [
    { what: 'Florida at 9:30 pm Eastern: closed until 8 am', phone: FLORIDA, at: '2026-12-02T02:30:00.000Z', closed: true, next: '2026-12-02T13:00:00.000Z', zone: 'America/New_York' },
    { what: 'Florida at 8:30 pm: closed by the state window (8 pm), open under the federal one', phone: FLORIDA, at: '2026-12-02T01:30:00.000Z', closed: true, next: '2026-12-02T13:00:00.000Z' },
    { what: 'New York at 8:30 pm: the federal window (until 9 pm) is open', phone: NEW_YORK, at: '2026-12-02T01:30:00.000Z', closed: false },
    { what: 'New York at exactly 9 pm: closed (the window ends at 9 pm)', phone: NEW_YORK, at: '2026-12-02T02:00:00.000Z', closed: true, next: '2026-12-02T13:00:00.000Z' },
    { what: 'New York at 7:59:59 am: closed for one more second', phone: NEW_YORK, at: '2026-12-02T12:59:59.000Z', closed: true, next: '2026-12-02T13:00:00.000Z' },
    { what: 'New York at 8 am: open', phone: NEW_YORK, at: '2026-12-02T13:00:00.000Z', closed: false },
    { what: '850 at 8:30 am Eastern is 7:30 am Central: the most restrictive zone closes it', phone: PANHANDLE, at: '2026-12-02T13:30:00.000Z', closed: true, next: '2026-12-02T14:00:00.000Z', zone: 'America/Chicago' },
    { what: '850 at 7:30 pm Central is 8:30 pm Eastern: closed by the Eastern side', phone: PANHANDLE, at: '2026-12-03T01:30:00.000Z', closed: true, next: '2026-12-03T14:00:00.000Z', zone: 'America/New_York' },
    { what: 'Oklahoma at 8:30 pm Central: the state window closes it', phone: OKLAHOMA, at: '2026-12-02T02:30:00.000Z', closed: true, next: '2026-12-02T14:00:00.000Z' },
    { what: 'the day clocks spring forward: 8 am EDT is 12:00 UTC, not 13:00', phone: NEW_YORK, at: '2027-03-14T10:30:00.000Z', closed: true, next: '2027-03-14T12:00:00.000Z' },
    { what: 'a number outside the NANP is read in every US zone: open only when Hawaii is', phone: '+447911123456', at: '2026-12-02T02:30:00.000Z', closed: true, next: '2026-12-02T18:00:00.000Z' },
  ];
  for (const { what, phone, at, closed, next, zone } of cases) {
    it(what, () => {
      const { quietHours } = clockAt(phone, at);
      if (!closed) return expect(quietHours).toBeNull();
      expect(quietHours).not.toBeNull();
      expect(quietHours!.nextAllowedAt).toBe(next);
      if (zone) expect(quietHours!.timeZone).toBe(zone);
    });
  }

  it('names the rule it applies, with its citation', () => {
    expect(clockAt(FLORIDA, '2026-12-02T01:30:00.000Z').quietHours!.source).toContain('Fla. Stat. § 501.616(6)(a)');
    expect(clockAt(NEW_YORK, '2026-12-02T02:00:00.000Z').quietHours!.source).toContain('47 CFR 64.1200(c)(1)');
    for (const rule of [FEDERAL_QUIET_HOURS, ...Object.values(STATE_QUIET_HOURS), ...Object.values(STATE_MESSAGE_LIMITS)]) expect(rule.source.length).toBeGreaterThan(20);
    expect(Object.keys(STATE_QUIET_HOURS).sort()).toEqual(['FL', 'MD', 'OK']);
  });

  it('transactional and conversational messages are exempt by default; a program may make them subject', () => {
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'transactional').quietHours).toBeNull();
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'conversational').quietHours).toBeNull();
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'transactional', { programQuietHoursTypes: ['transactional', 'promotional'] }).quietHours).not.toBeNull();
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'promotional', { programQuietHoursTypes: [] }).quietHours).toBeNull();
  });

  it('a time zone recorded with the consent overrides the area code (and the state rule follows the number)', () => {
    // 9:30 pm Eastern is 6:30 pm Pacific: inside Florida's 8 am–8 pm window read in the recorded zone.
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'promotional', { recorded: { timeZone: 'America/Los_Angeles' } }).quietHours).toBeNull();
    // 8:30 pm Pacific: closed by Florida's window (until 8 pm) read in the recorded zone, though the federal one allows until 9.
    expect(clockAt(FLORIDA, '2026-12-02T04:30:00.000Z', 'promotional', { recorded: { timeZone: 'America/Los_Angeles' } }).quietHours).not.toBeNull();
    expect(recipientLocation(FLORIDA, { timeZone: 'America/Los_Angeles' })).toEqual({ region: 'FL', timeZones: ['America/Los_Angeles'], source: 'consent' });
  });

  it('a state recorded with the consent overrides the area code, zones and rules', () => {
    const location = recipientLocation(FLORIDA, { region: 'CA' });
    expect(location).toMatchObject({ region: 'CA', timeZones: ['America/Los_Angeles'], source: 'consent' });
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'promotional', { recorded: { region: 'CA' } })).toEqual({ quietHours: null, stateLimit: null });
    expect(clockAt(NEW_YORK, '2026-12-02T02:30:00.000Z', 'promotional', { recorded: { region: 'OK' } }).stateLimit).toMatchObject({ region: 'OK', max: 3, hours: 24 });
  });

  it('the account\'s own windows only narrow: a wider one changes nothing', () => {
    const narrow = quietHoursFor('NY', { federal: { start: '09:00', end: '20:00' } });
    expect(quietHoursVerdict(recipientLocation(NEW_YORK), narrow, '2026-12-02T13:30:00.000Z')).toMatchObject({ open: false, nextAllowedAt: '2026-12-02T14:00:00.000Z' });
    const wide = quietHoursFor('FL', { FL: { start: '06:00', end: '23:00' } });
    expect(quietHoursVerdict(recipientLocation(FLORIDA), wide, '2026-12-02T01:30:00.000Z')).toMatchObject({ open: false });
    expect(parseQuietHoursWindows('federal=09:00-20:00, FL=09:30-19:00')).toEqual({ windows: { federal: { start: '09:00', end: '20:00' }, FL: { start: '09:30', end: '19:00' } }, problems: [] });
    expect(parseQuietHoursWindows('FL=20:00-09:00').problems[0]).toContain('must end after it starts');
    expect(parseQuietHoursWindows('Florida=9-5').problems[0]).toContain('region=HH:MM-HH:MM');
  });

  it('a test\'s window may run past midnight, and opens at its start', () => {
    const rules = { federal: { start: '00:00', end: '24:00', source: 'test' }, states: { FL: { start: '21:30:05', end: '00:30:00', source: 'test window' } } };
    const settings = { quietHoursTypes: ['promotional' as const], windows: {}, rules };
    expect(clockAt(FLORIDA, '2026-12-02T02:30:00.000Z', 'promotional', {}, settings).quietHours!.nextAllowedAt).toBe('2026-12-02T02:30:05.000Z');
    expect(clockAt(FLORIDA, '2026-12-02T04:00:00.000Z', 'promotional', {}, settings).quietHours).toBeNull();
    expect(QUIET_HOURS_RULES.federal).toBe(FEDERAL_QUIET_HOURS);
    expect(() => secondsOfDay('25:00')).toThrow('not a time of day');
  });
});

describe('state message limits (3 promotional per rolling 24 h in FL, OK and MD)', () => {
  const FROM = '+14155550100';
  function consented(phone: string): ContactState {
    const state = emptyContactState(phone);
    state.consents.push({ type: 'express_written', source: 'web_form', businessNumber: null, messageTypes: ['promotional', 'transactional'], program: null, grantedAt: '2026-11-01T00:00:00.000Z' });
    return state;
  }
  const sendAt = (state: ContactState, at: string, key: string, type: MessageType = 'promotional') => recordSend(state, { idempotencyKey: key, from: FROM, type, program: null, sentAt: at });
  const decide = (state: ContactState, phone: string, at: string, type: MessageType = 'promotional') =>
    evaluateSend(state, { from: FROM, type, program: null, at, clock: { quietHours: null, stateLimit: sendClock({ phone, type, programQuietHoursTypes: [], at }).clock.stateLimit } }, at);

  it('the 4th promotional message in 24 h to an Oklahoma number is refused, with the time it would be allowed', () => {
    const state = consented(OKLAHOMA);
    sendAt(state, '2026-12-01T10:00:00.000Z', 'a');
    sendAt(state, '2026-12-01T12:00:00.000Z', 'b');
    sendAt(state, '2026-12-01T14:00:00.000Z', 'c');
    const fourth = decide(state, OKLAHOMA, '2026-12-01T20:00:00.000Z');
    expect(fourth).toMatchObject({ allowed: false, code: 'STATE_MESSAGE_LIMIT', nextAllowedAt: '2026-12-02T10:00:00.000Z' });
    expect(fourth.reason).toContain('OK allows at most 3 promotional messages');
    expect(decide(state, OKLAHOMA, '2026-12-02T10:00:00.001Z')).toMatchObject({ allowed: true });
  });

  it('reserved sends count, so concurrent sends cannot all pass the limit', () => {
    const state = consented(OKLAHOMA);
    sendAt(state, '2026-12-01T10:00:00.000Z', 'a');
    state.reservations.push({ idempotencyKey: 'r1', from: FROM, type: 'promotional', program: null, reservedAt: '2026-12-01T11:00:00.000Z' });
    state.reservations.push({ idempotencyKey: 'r2', from: FROM, type: 'promotional', program: 'other', reservedAt: '2026-12-01T11:00:01.000Z' });
    expect(decide(state, OKLAHOMA, '2026-12-01T12:00:00.000Z')).toMatchObject({ code: 'STATE_MESSAGE_LIMIT', nextAllowedAt: '2026-12-02T10:00:00.000Z' });
  });

  it('transactional messages and other states are not limited', () => {
    const state = consented(OKLAHOMA);
    for (const key of ['a', 'b', 'c', 'd']) sendAt(state, '2026-12-01T10:00:00.000Z', key);
    expect(decide(state, OKLAHOMA, '2026-12-01T12:00:00.000Z', 'transactional')).toMatchObject({ allowed: true });
    const newYork = consented(NEW_YORK);
    for (const key of ['a', 'b', 'c', 'd']) sendAt(newYork, '2026-12-01T10:00:00.000Z', key);
    expect(decide(newYork, NEW_YORK, '2026-12-01T12:00:00.000Z')).toMatchObject({ allowed: true });
  });

  it('an opted-out contact is refused OPTED_OUT, not held or limited', () => {
    const state = consented(FLORIDA);
    state.optedOut = true;
    const decision = evaluateSend(state, { from: FROM, type: 'promotional', program: null, clock: clockAt(FLORIDA, '2026-12-02T02:30:00.000Z') }, '2026-12-02T02:30:00.000Z');
    expect(decision.code).toBe('OPTED_OUT');
  });

  it('quiet hours answer QUIET_HOURS with the next allowed time, after every other rule', () => {
    const state = consented(FLORIDA);
    const decision = evaluateSend(state, { from: FROM, type: 'promotional', program: null, clock: clockAt(FLORIDA, '2026-12-02T02:30:00.000Z') }, '2026-12-02T02:30:00.000Z');
    expect(decision).toMatchObject({ allowed: false, code: 'QUIET_HOURS', nextAllowedAt: '2026-12-02T13:00:00.000Z' });
    expect(decision.reason).toContain('21:30:00 in America/New_York');
  });

  it('a state carried from before the limit starts its count from the sends it holds', () => {
    const state = consented(OKLAHOMA) as Partial<ContactState>;
    state.sentMessages = ['a', 'b', 'c'].map((key, index) => ({ idempotencyKey: key, from: FROM, type: 'promotional' as const, program: null, sentAt: `2026-12-01T1${index}:00:00.000Z` }));
    delete state.promotionalSends;
    const settled = settleContactState(OKLAHOMA, JSON.parse(JSON.stringify(state)));
    expect(settled.promotionalSends).toHaveLength(3);
    expect(decide(settled, OKLAHOMA, '2026-12-01T20:00:00.000Z').code).toBe('STATE_MESSAGE_LIMIT');
  });
});
