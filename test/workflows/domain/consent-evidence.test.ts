import { describe, it, expect } from 'vitest';
import {
  checkConsentEvidence,
  consentInputSchema,
  type ConsentInput,
  type ConsentInputRaw,
  type ConsentRefusalRule,
} from '../../../workflows/domain/consent-evidence';
import { describeIssues } from '../../../workflows/domain/schemas';

const GRANTED_AT = '2025-03-01T10:00:00Z';

const SOURCES = {
  web_form: {
    kind: 'web_form',
    formUrl: 'https://acme.example/signup',
    consentText: 'I agree to receive appointment reminders from Acme Dental. Reply STOP to opt out.',
    checkboxPrechecked: false,
    submittedAt: '2025-03-01T09:59:30Z',
    ipAddress: '203.0.113.7',
  },
  verbal: { kind: 'verbal', takenBy: 'dana@acme.example', callId: 'CA123' },
  paper_form: { kind: 'paper_form', documentReference: 'scan-2025-0042.pdf', signed: true },
  inbound_text: { kind: 'inbound_text', messageId: 'SM0123456789abcdef' },
  purchased_list: { kind: 'purchased_list', listName: 'Leads Q1' },
  scraped: { kind: 'scraped', origin: 'yellow pages' },
  calling_only: { kind: 'calling_only', note: 'gave number for a callback' },
} satisfies Record<string, ConsentInputRaw['source']>;

function rawInput(overrides: Partial<ConsentInputRaw> = {}): ConsentInputRaw {
  return { type: 'express', source: SOURCES.web_form, messageTypes: ['transactional'], grantedAt: GRANTED_AT, ...overrides };
}

function parse(raw: unknown): ConsentInput {
  return consentInputSchema.parse(raw);
}

/** The fields zod names for a rejected input, via the same helper the HTTP edge uses. */
function rejectedFields(raw: unknown): string[] {
  const result = consentInputSchema.safeParse(raw);
  if (result.success) throw new Error('expected the input to be rejected');
  return describeIssues(result.error).map((issue) => issue.field);
}

describe('consentInputSchema: every opt-in source parses with its evidence', () => {
  it.each(Object.entries(SOURCES))('a %s source is structurally valid', (_kind, source) => {
    const result = consentInputSchema.safeParse(rawInput({ source }));
    expect(result.success).toBe(true);
    expect(result.data?.source).toEqual(source);
  });

  it('defaults businessNumber and program to null: any number and any program of the account', () => {
    const input = parse(rawInput());
    expect(input.businessNumber).toBeNull();
    expect(input.program).toBeNull();
  });

  it('keeps a business number and a trimmed program name', () => {
    const input = parse(rawInput({ businessNumber: '+14155550100', program: '  reminders ' }));
    expect(input.businessNumber).toBe('+14155550100');
    expect(input.program).toBe('reminders');
  });

  it('accepts a web form with only a user agent', () => {
    const { ipAddress: _ip, ...withoutIp } = SOURCES.web_form;
    expect(consentInputSchema.safeParse(rawInput({ source: { ...withoutIp, userAgent: 'Mozilla/5.0' } })).success).toBe(true);
  });

  it('accepts a web form from an IPv6 address', () => {
    expect(consentInputSchema.safeParse(rawInput({ source: { ...SOURCES.web_form, ipAddress: '2001:db8::1' } })).success).toBe(true);
  });

  it('accepts a verbal consent with only a CRM reference', () => {
    expect(
      consentInputSchema.safeParse(rawInput({ source: { kind: 'verbal', takenBy: 'Dana', crmReference: 'HS-991' } })).success,
    ).toBe(true);
  });

  it('accepts the refused kinds without any detail, so they can be refused with a reason', () => {
    for (const kind of ['purchased_list', 'scraped', 'calling_only'] as const) {
      expect(consentInputSchema.safeParse(rawInput({ source: { kind } })).success).toBe(true);
    }
  });
});

describe('consentInputSchema: structural errors name the field', () => {
  const { checkboxPrechecked: _checked, ...webFormWithoutCheckbox } = SOURCES.web_form;
  const { ipAddress: _ip, ...webFormWithoutIpOrAgent } = SOURCES.web_form;

  type Row = [title: string, raw: unknown, field: string];
  const rows: Row[] = [
    ['a web form that does not say whether the box was pre-checked', rawInput({ source: webFormWithoutCheckbox as never }), 'source.checkboxPrechecked'],
    ['a web form whose URL is not a URL', rawInput({ source: { ...SOURCES.web_form, formUrl: 'not a url' } }), 'source.formUrl'],
    ['a web form whose URL is not http(s)', rawInput({ source: { ...SOURCES.web_form, formUrl: 'javascript:alert(1)' } }), 'source.formUrl'],
    ['a web form with neither IP address nor user agent', rawInput({ source: webFormWithoutIpOrAgent }), 'source.ipAddress'],
    ['a web form with an IP address that is not one', rawInput({ source: { ...SOURCES.web_form, ipAddress: '999.1.1.1' } }), 'source.ipAddress'],
    ['a web form with empty consent text', rawInput({ source: { ...SOURCES.web_form, consentText: '   ' } }), 'source.consentText'],
    ['a web form with a bad submission time', rawInput({ source: { ...SOURCES.web_form, submittedAt: 'yesterday' } }), 'source.submittedAt'],
    ['a verbal consent with neither call id nor CRM reference', rawInput({ source: { kind: 'verbal', takenBy: 'Dana' } }), 'source.callId'],
    ['a verbal consent without who took it', rawInput({ source: { kind: 'verbal', takenBy: ' ', callId: 'CA1' } }), 'source.takenBy'],
    ['a paper form that does not say whether it was signed', rawInput({ source: { kind: 'paper_form', documentReference: 'x' } as never }), 'source.signed'],
    ['an inbound text without its message id', rawInput({ source: { kind: 'inbound_text', messageId: '' } }), 'source.messageId'],
    ['an unknown source kind', rawInput({ source: { kind: 'carrier_pigeon' } as never }), 'source.kind'],
    ['a consent that covers no message type', rawInput({ messageTypes: [] }), 'messageTypes'],
    ['a consent for an unknown message type', rawInput({ messageTypes: ['marketing' as never] }), 'messageTypes.0'],
    ['a business number that is not E.164', rawInput({ businessNumber: '415-555-0100' }), 'businessNumber'],
    ['an unknown consent type', rawInput({ type: 'implied' as never }), 'type'],
    ['a grant time that is not a timestamp', rawInput({ grantedAt: '2025-03-01' }), 'grantedAt'],
    ['an empty program name', rawInput({ program: '' }), 'program'],
  ];

  it.each(rows)('%s is rejected at %s', (_title, raw, field) => {
    expect(rejectedFields(raw)).toContain(field);
  });

  it('says why a missing field is rejected', () => {
    const result = consentInputSchema.safeParse(rawInput({ source: webFormWithoutCheckbox as never }));
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toContainEqual({ field: 'source.checkboxPrechecked', message: 'is required' });
  });

  it('explains the missing evidence of a web form in words', () => {
    const result = consentInputSchema.safeParse(rawInput({ source: webFormWithoutIpOrAgent }));
    expect(describeIssues(result.error!)[0]?.message).toMatch(/IP address or user agent/);
  });
});

describe('checkConsentEvidence: what is never consent (consent-rules.md §5)', () => {
  type Row = [title: string, raw: ConsentInputRaw, rule: ConsentRefusalRule, words: RegExp];
  const prechecked = { ...SOURCES.web_form, checkboxPrechecked: true };
  const rows: Row[] = [
    ['a pre-checked box for express consent', rawInput({ type: 'express', source: prechecked }), 'PRECHECKED_BOX', /pre-checked box/i],
    ['a pre-checked box for express written consent', rawInput({ type: 'express_written', source: prechecked }), 'PRECHECKED_BOX', /pre-checked box/i],
    ['a purchased list', rawInput({ source: SOURCES.purchased_list }), 'PURCHASED_LIST', /purchased list/i],
    ['a purchased list claimed as written consent', rawInput({ type: 'express_written', source: SOURCES.purchased_list }), 'PURCHASED_LIST', /purchased list/i],
    ['scraped numbers', rawInput({ source: SOURCES.scraped }), 'SCRAPED_NUMBERS', /scraped numbers/i],
    ['a number given for calling only', rawInput({ source: SOURCES.calling_only }), 'CALLING_ONLY', /calling only/i],
    ['express written consent taken verbally', rawInput({ type: 'express_written', source: SOURCES.verbal }), 'WRITTEN_ACT_REQUIRED', /written act/i],
    ['express written consent from an inbound text', rawInput({ type: 'express_written', source: SOURCES.inbound_text }), 'WRITTEN_ACT_REQUIRED', /written act/i],
    ['an unsigned paper form for express consent', rawInput({ source: { ...SOURCES.paper_form, signed: false } }), 'UNSIGNED_PAPER_FORM', /unsigned paper form/i],
    ['an unsigned paper form for express written consent', rawInput({ type: 'express_written', source: { ...SOURCES.paper_form, signed: false } }), 'UNSIGNED_PAPER_FORM', /unsigned paper form/i],
  ];

  it.each(rows)('%s is refused as %s', (_title, raw, rule, words) => {
    const check = checkConsentEvidence(parse(raw));
    expect(check).toMatchObject({ ok: false, rule });
    if (check.ok) return;
    expect(check.reason).toMatch(words);
    expect(check.reason).toMatch(/not consent|needs a written act/);
    expect(check.reason).toContain('consent-rules.md §5');
    expect(check.reason).toContain('FCC TCPA');
  });
});

describe('checkConsentEvidence: consents that hold', () => {
  type Row = [title: string, raw: ConsentInputRaw];
  const rows: Row[] = [
    ['express consent taken verbally', rawInput({ type: 'express', source: SOURCES.verbal })],
    ['express consent from an inbound text', rawInput({ type: 'express', source: SOURCES.inbound_text })],
    ['express consent from an unchecked web form', rawInput({ type: 'express', source: SOURCES.web_form })],
    ['express written consent from an unchecked box the customer ticked', rawInput({ type: 'express_written', source: SOURCES.web_form })],
    ['express written consent on a signed paper form', rawInput({ type: 'express_written', source: SOURCES.paper_form })],
    ['express consent on a signed paper form', rawInput({ type: 'express', source: SOURCES.paper_form })],
  ];

  it.each(rows)('%s is accepted', (_title, raw) => {
    expect(checkConsentEvidence(parse(raw))).toEqual({ ok: true });
  });
});
