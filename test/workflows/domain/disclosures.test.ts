import { describe, it, expect } from 'vitest';
import {
  DISCLOSURES,
  appendDisclosures,
  frequencyWindowStart,
  missingDisclosures,
  parseFrequency,
  type Disclosure,
  type ProgramDisclosureFacts,
} from '../../../workflows/domain/disclosures';

const ACME: ProgramDisclosureFacts = {
  businessName: 'Acme Dental',
  description: 'appointment reminders',
  frequency: 'up to 4 msgs/month',
};

// One sentence per disclosure, so a message lacking exactly one is the compliant one minus that sentence.
const SENTENCES: Record<Disclosure, string> = {
  business_name: 'Acme Dental:',
  program_description: 'appointment reminders are on.',
  message_frequency: 'Up to 4 msgs/month.',
  rates_notice: 'Msg & data rates may apply.',
  opt_out_instructions: 'Reply STOP to unsubscribe.',
};
const ORDER: Disclosure[] = ['business_name', 'program_description', 'message_frequency', 'rates_notice', 'opt_out_instructions'];

function bodyWithout(lacking: Disclosure[]): string {
  const sentences = ORDER.filter((d) => !lacking.includes(d)).map((d) => SENTENCES[d]);
  return ['Welcome!', ...sentences].join(' ');
}

describe('missingDisclosures (consent-rules.md §6)', () => {
  it('a fully compliant first message lacks nothing', () => {
    const body =
      'Acme Dental: appointment reminders. Your cleaning is Tue 3pm. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.';
    expect(missingDisclosures(body, ACME)).toEqual([]);
  });

  it.each(DISCLOSURES.map((d) => [d]))('a message lacking only %s is missing exactly that', (lacking) => {
    expect(missingDisclosures(bodyWithout([lacking]), ACME)).toEqual([lacking]);
  });

  it('a bare message lacks all five, in the canonical order', () => {
    expect(missingDisclosures('Your cleaning is Tue 3pm.', ACME)).toEqual([...DISCLOSURES]);
  });

  it('matches the business name and description whatever their case and spacing', () => {
    const body = 'ACME  DENTAL: Appointment Reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.';
    expect(missingDisclosures(body, ACME)).toEqual([]);
  });

  it.each([
    ['Reply STOP to opt out.'],
    ['reply stop to end'],
    ['Text STOP to cancel.'],
    ["Reply 'STOP' to unsubscribe."],
  ])('accepts %j as opt-out instructions', (sentence) => {
    expect(missingDisclosures(bodyWithout(['opt_out_instructions']) + ' ' + sentence, ACME)).toEqual([]);
  });

  it('does not take "STOP by our office" for opt-out instructions', () => {
    expect(missingDisclosures(bodyWithout(['opt_out_instructions']) + ' Stop by our office Monday.', ACME)).toEqual([
      'opt_out_instructions',
    ]);
  });

  it.each([
    ['Msg frequency varies.'],
    ['Message frequency varies.'],
    ['2 messages/week.'],
    ['1 msg per day.'],
    ['Up to 4 MSGS/MO.'],
  ])('accepts %j as a frequency disclosure even when the program words it differently', (sentence) => {
    expect(missingDisclosures(bodyWithout(['message_frequency']) + ' ' + sentence, ACME)).toEqual([]);
  });

  it('accepts the program’s own frequency wording even when no generic pattern reads it', () => {
    const facts = { ...ACME, frequency: 'Recurring weekly' };
    expect(missingDisclosures(bodyWithout(['message_frequency']) + ' Recurring weekly.', facts)).toEqual([]);
  });

  it.each([['Msg and data rates may apply.'], ['msg&data rates may apply'], ['Message and data rates may apply.']])(
    'accepts %j as the rates notice',
    (sentence) => {
      expect(missingDisclosures(bodyWithout(['rates_notice']) + ' ' + sentence, ACME)).toEqual([]);
    },
  );
});

describe('appendDisclosures', () => {
  const combinations: Disclosure[][] = [
    ['business_name'],
    ['program_description'],
    ['opt_out_instructions'],
    ['message_frequency'],
    ['rates_notice'],
    ['business_name', 'program_description'],
    ['message_frequency', 'rates_notice', 'opt_out_instructions'],
    ['business_name', 'opt_out_instructions'],
    ['program_description', 'rates_notice'],
    [...DISCLOSURES],
  ];

  it.each(combinations.map((c) => [c.join(' + '), c] as const))('completes a message lacking %s', (_title, lacking) => {
    const body = bodyWithout(lacking);
    expect(missingDisclosures(body, ACME)).toEqual(DISCLOSURES.filter((d) => lacking.includes(d)));
    const completed = appendDisclosures(body, ACME);
    expect(completed.startsWith(body + ' ')).toBe(true);
    expect(missingDisclosures(completed, ACME)).toEqual([]);
  });

  it('writes the canonical footer for a bare message', () => {
    expect(appendDisclosures('Your cleaning is Tue 3pm.', ACME)).toBe(
      'Your cleaning is Tue 3pm. Acme Dental: appointment reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.',
    );
  });

  it('adds only what is missing, in the canonical order', () => {
    expect(appendDisclosures('Acme Dental: your cleaning is Tue 3pm.', ACME)).toBe(
      'Acme Dental: your cleaning is Tue 3pm. Appointment reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.',
    );
    expect(appendDisclosures('Acme Dental appointment reminders: Tue 3pm. Reply STOP to end.', ACME)).toBe(
      'Acme Dental appointment reminders: Tue 3pm. Reply STOP to end. Up to 4 msgs/month. Msg & data rates may apply.',
    );
  });

  it('returns a compliant body unchanged', () => {
    const compliant = bodyWithout([]);
    expect(appendDisclosures(compliant, ACME)).toBe(compliant);
  });

  it('is idempotent: completing a completed message changes nothing', () => {
    const once = appendDisclosures('Your cleaning is Tue 3pm.', ACME);
    expect(appendDisclosures(once, ACME)).toBe(once);
  });

  it('does not double a final stop the program already wrote', () => {
    const facts = { businessName: 'Bob’s Bikes', description: 'Service updates.', frequency: 'Msg frequency varies.' };
    const completed = appendDisclosures('Your bike is ready.', facts);
    expect(completed).toBe(
      'Your bike is ready. Bob’s Bikes: Service updates. Msg frequency varies. Msg & data rates may apply. Reply STOP to unsubscribe.',
    );
    expect(missingDisclosures(completed, facts)).toEqual([]);
  });

  it('an empty body becomes the footer alone', () => {
    const completed = appendDisclosures('', ACME);
    expect(completed).toBe('Acme Dental: appointment reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.');
  });
});

describe('parseFrequency', () => {
  type Row = [text: string, expected: ReturnType<typeof parseFrequency>];
  const table: Row[] = [
    ['up to 4 msgs/month', { max: 4, per: 'month' }],
    ['Up to 4 msgs/month.', { max: 4, per: 'month' }],
    ['4 msgs/mo', { max: 4, per: 'month' }],
    ['2 messages/week', { max: 2, per: 'week' }],
    ['1 msg/day', { max: 1, per: 'day' }],
    ['3 msgs/wk', { max: 3, per: 'week' }],
    ['up to 10 messages per month', { max: 10, per: 'month' }],
    ['UP TO 5 MSGS / WEEK', { max: 5, per: 'week' }],
    ['Recurring: up to 6 msgs/mo', { max: 6, per: 'month' }],
    ['1 message per day', { max: 1, per: 'day' }],
    ['Msg frequency varies', null],
    ['Message frequency varies.', null],
    ['msgs freq varies', null],
    ['often', undefined],
    ['', undefined],
    ['4 msgs', undefined],
    ['0 msgs/month', undefined],
    ['4 msgs/year', undefined],
    ['99999999999999999999 msgs/day', undefined],
  ];

  it.each(table)('%j reads as %j', (text, expected) => {
    expect(parseFrequency(text)).toEqual(expected);
  });
});

describe('frequencyWindowStart: a rolling window ending at the send', () => {
  it.each([
    ['day', '2025-03-15T12:00:00.000Z', '2025-03-14T12:00:00.000Z'],
    ['week', '2025-03-15T12:00:00.000Z', '2025-03-08T12:00:00.000Z'],
    ['month', '2025-03-15T12:00:00.000Z', '2025-02-13T12:00:00.000Z'],
  ] as const)('a %s window ending %s starts %s', (per, at, start) => {
    expect(frequencyWindowStart(at, per)).toBe(start);
  });

  it('reads offsets and answers in UTC', () => {
    expect(frequencyWindowStart('2025-03-01T10:00:00+02:00', 'day')).toBe('2025-02-28T08:00:00.000Z');
  });

  it('counts a month as 30 days across a leap day', () => {
    expect(frequencyWindowStart('2024-03-01T00:00:00Z', 'month')).toBe('2024-01-31T00:00:00.000Z');
  });

  it('refuses a time it cannot read rather than inventing one', () => {
    expect(() => frequencyWindowStart('yesterday', 'day')).toThrow(RangeError);
  });
});
