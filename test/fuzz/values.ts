/**
 * Values for each kind of field the schemas describe: valid ones (random, and at their bounds) and boundary or
 * invalid ones (empty, oversized, wrong types, null, odd Unicode, impossible dates, numbers that are not phones).
 */
import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { FreshId, FreshPhone, PHONE_FORMATS, type PhoneCountry } from './placeholders';

/** A US national number of this run (area code 720, a random exchange and line), never one another file uses. */
const RUN_NATIONAL_NUMBER = Number(`720${randomInt(200, 1000)}${String(randomInt(0, 10_000)).padStart(4, '0')}`);
import { leafPaths, type Field, type Spec } from './zod-spec';

/** A mutation that removes the field. */
export const MISSING = Symbol('missing');

/** Code points that break naive handling: NUL, lone surrogates, direction marks, joiners, combining marks, BOM. */
export const ODD_UNICODE = [
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\uDBFF',
  '\u202E',
  '\u200F',
  '\u200E',
  '\u2066',
  '\u200B',
  '\u200D',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\u2028',
  '\u00A0',
  '\u0007',
  '\u001B[31m',
  '\r\n',
  '\t',
  '😀',
  '👨‍👩‍👧‍👦',
  '🛑',
  '🇺🇸',
  'e\u0301',
  'Z\u0334\u0321\u031B\u0348\u031E',
  'ＳＴＯＰ',
  '𝐒𝐓𝐎𝐏',
  'İ',
  'ß',
  'ﬀ',
  'שלום',
  'مرحبا',
  '中文',
  '\\',
  '"',
  "'",
  '%00',
  '%s%n',
  '${jndi:ldap://x.example/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  "'; DROP TABLE opt_outs; --",
  '../../etc/passwd',
] as const;

export const oddText = (maxPieces = 8): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof(fc.constantFrom(...ODD_UNICODE), fc.constantFrom('a', 'STOP', ' ', 'ok', '1')), { minLength: 1, maxLength: maxPieces })
    .map((pieces) => pieces.join(''));

/** Texts the keyword classifier treats as a plain opt-out: the STOPs whose processing the test checks in full. */
export const CHECKED_STOP_BODIES = ['STOP', 'stop', ' Stop ', 'Stop', 'STOP\n', 'Stop.', 'STOP!', 'UNSUBSCRIBE', 'cancel', 'End', 'QUIT', 'stopall', 'Stop All', 'REVOKE', 'optout', 'Opt Out'];

/** Other inbound texts: keywords, revocations, embedded keywords, HELP, ordinary replies, odd ones. */
export const OTHER_INBOUND_BODIES = [
  'START',
  'unstop',
  'YES',
  'HELP',
  'info',
  'please stop texting me',
  'wrong number',
  'take me off your list',
  'no más',
  'ARRÊT',
  'We have got to STOP this bill',
  'Stop by our office Monday',
  'Yes, see you then',
  'Thanks!',
  'hello',
  '',
  ' ',
  'S T O P',
  'STOP STOP',
  'ＳＴＯＰ',
  'stop\u0000',
  '\uD800STOP',
  'STOP\u200F',
  'ST\u00ADOP',
  '🛑',
];

export const VALID_FREQUENCIES = ['up to 4 msgs/month', 'Msg frequency varies', '1 msg/day', 'Up to 10 messages per week', '3 msgs/wk', 'Message freq varies'];
const INVALID_FREQUENCIES = ['often', '0 msgs/month', 'up to -1 msgs/month', 'up to 99999999999999999999 msgs/day', '4 msgs/year', 'daily'];

/** Strings that are no usable phone number (or only look like one): short codes, bad area codes, too long, letters. */
export const INVALID_PHONES: unknown[] = [
  '',
  ' ',
  '+',
  '+1',
  '12345',
  '567890',
  '#123',
  '*99',
  '911',
  '+10000000000',
  '+11234567890',
  '+1 011 234 5678',
  '+999999999999',
  '+0123456789',
  '+1720234567890123',
  '+17202345678901234567890123456789012',
  '00000000000',
  'abc',
  'not a number',
  '+1-720-ABC-DEFG',
  '++17202345678',
  '+1 (720) 234-5678 ext. 99999999999999999',
  '+1\u00007202345678',
  '+1\uD8007202345678',
  '+1\u202E7202345678',
  '7202345678'.repeat(4),
  'null',
  'undefined',
  '+1720234567\u0000',
  // As numbers, not strings: one of this run's (a fixed one was an actor shared with the other load test file).
  RUN_NATIONAL_NUMBER,
  Number(`1${RUN_NATIONAL_NUMBER}`),
  -1,
  0,
  1e21,
  true,
  null,
  [],
  ['+17202345678'],
  {},
  { phone_number: '+17202345678' },
];

/** Timestamps the API's schema accepts that a database or a date library may not: year 0, 9999, extreme offsets. */
export const EDGE_VALID_TIMESTAMPS = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+23:59',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999-16:00',
  '2026-11-27T10:00:00+23:59',
  '2026-11-27T10:00:00-23:59',
  '2026-11-27T10:00:00-16:00',
  '2024-02-29T12:00:00Z',
  '2026-11-27T10:00:00.123456789Z',
  '1969-12-31T23:59:59.999Z',
  '1900-01-01T00:00:00Z',
  '2026-03-08T02:30:00-05:00',
];

export const INVALID_TIMESTAMPS: unknown[] = [
  '2026-02-30T00:00:00Z',
  '2025-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-11-27T24:00:00Z',
  '2026-11-27T10:00:60Z',
  '2026-11-27 10:00:00Z',
  '2026-11-27T10:00:00',
  '2026-11-27T10:00:00+24:00',
  '2026-11-27T10:00:00+0100',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '10000-01-01T00:00:00Z',
  '2026-11-27',
  'now',
  '1764237600',
  1764237600,
  '',
  'Z',
  '2026-11-27T10:00:00Z\u0000',
  null,
  {},
];

const EDGE_VALID_DATES = ['0000-01-01', '9999-12-31', '2024-02-29', '1970-01-01'];
const INVALID_DATES: unknown[] = ['2026-02-30', '2026-1-1', '20261101', '2026-11-31', '0000-00-00', 'yesterday', '', 20261101];

export const OVERSIZED_BODY_TEXT = 'x'.repeat(70_000);

const pad2 = (n: number) => String(n).padStart(2, '0');

/** An ordinary timestamp, any offset within ±14:00, with or without a fraction. */
export const normalTimestamp: fc.Arbitrary<string> = fc
  .record({
    year: fc.integer({ min: 2000, max: 2035 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.constantFrom('', '.0', '.123', '.999999'),
    offset: fc.oneof(fc.constant('Z'), fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 14 }), m: fc.constantFrom(0, 30, 45) }).map(({ sign, h, m }) => `${sign}${pad2(h)}:${pad2(m)}`)),
  })
  .map(({ year, month, day, hour, minute, second, fraction, offset }) => `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}${fraction}${offset}`);

const normalDate = fc
  .record({ year: fc.integer({ min: 2020, max: 2030 }), month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 28 }) })
  .map(({ year, month, day }) => `${year}-${pad2(month)}-${pad2(day)}`);

const PHONE_COUNTRIES: fc.Arbitrary<PhoneCountry> = fc.oneof(
  { arbitrary: fc.constant('US' as const), weight: 12 },
  { arbitrary: fc.constant('CA' as const), weight: 2 },
  { arbitrary: fc.constant('GB' as const), weight: 1 },
  { arbitrary: fc.constant('MX' as const), weight: 1 },
);

/** A fresh number, mostly in E.164, else in one of the formats the API normalises. */
export const freshPhone: fc.Arbitrary<FreshPhone> = fc
  .tuple(PHONE_COUNTRIES, fc.oneof({ arbitrary: fc.constant('e164' as const), weight: 6 }, { arbitrary: fc.constantFrom(...PHONE_FORMATS), weight: 4 }))
  // GB and MX numbers only read right with their country code.
  .map(([country, format]) => new FreshPhone(country, country === 'GB' || country === 'MX' ? (['national', 'dashed', 'dotted', 'one-prefixed'].includes(format) ? 'e164' : format) : format));

/** A fresh US number in E.164: for the requests whose full processing the test checks. */
export const freshUsPhone: fc.Arbitrary<FreshPhone> = fc.constantFrom(...(['e164', 'e164', 'national', 'intl-spaced', 'dashed'] as const)).map((format) => new FreshPhone('US', format));

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

/** Texts for a string field: words, odd Unicode, binary, and the exact maximum length. */
function textArb(min: number, max: number | undefined, trims: boolean): fc.Arbitrary<string> {
  const limit = max ?? 300;
  const choices: fc.WeightedArbitrary<string>[] = [
    { arbitrary: fc.lorem({ maxCount: 6 }), weight: 8 },
    { arbitrary: oddText(), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }), weight: 1 },
  ];
  if (max !== undefined) {
    choices.push({ arbitrary: fc.constantFrom('a'.repeat(max), `  ${'b'.repeat(max)}  `, '😀'.repeat(Math.floor(max / 2)), `${'é'.repeat(max - 1)}!`), weight: 1 });
  }
  // Within the bounds the schema checks (after trimming, when it trims): cut what is too long, pad what is too short.
  const measured = (text: string) => (trims ? text.trim() : text);
  return fc.oneof(...choices).map((text) => {
    let value = measured(text).length > limit ? measured(text).slice(0, limit) : text;
    while (measured(value).length < min) value += 'y';
    return value;
  });
}

/** Field names whose valid values need more than their schema says (uniqueness, a meaning). */
export type Overrides = Record<string, fc.Arbitrary<unknown>>;

export const SHARED_OVERRIDES: Overrides = {
  messageId: fc.oneof(
    { arbitrary: hex(32).map((h) => `SM${h}`), weight: 8 },
    { arbitrary: fc.uuid(), weight: 2 },
    { arbitrary: oddText(4).map((t) => `SM${t}`.slice(0, 128)), weight: 1 },
    { arbitrary: fc.constant(`SM${'a'.repeat(126)}`), weight: 1 },
  ),
  idempotencyKey: fc.oneof(
    { arbitrary: fc.constant(new FreshId('order-')), weight: 6 },
    { arbitrary: fc.constantFrom(...ODD_UNICODE).map((odd) => new FreshId(`k${odd}`)), weight: 2 },
    { arbitrary: fc.constant(new FreshId('  padded-', '  ')), weight: 1 },
    { arbitrary: fc.constant(new FreshId('', `-${'k'.repeat(180)}`)), weight: 1 },
  ),
  importId: fc.constantFrom(new FreshId('imp-'), new FreshId('IMP_'), new FreshId('', `_${'z'.repeat(80)}`)).map((id) => new FreshId(id.prefix, id.suffix)),
  recordedBy: fc.oneof(
    { arbitrary: fc.constantFrom('agent@acme.example', 'ops@acme.example', 'Jane Doe'), weight: 6 },
    { arbitrary: oddText(4), weight: 2 },
    { arbitrary: fc.constant('r'.repeat(200)), weight: 1 },
  ),
  frequency: fc.constantFrom(...VALID_FREQUENCIES),
  cursor: fc.oneof(
    fc.constant(Buffer.from(JSON.stringify(['2026-11-27 10:00:00+00', '+17202345678'])).toString('base64url')),
    fc.constant(Buffer.from(JSON.stringify(['not a time', '+1'])).toString('base64url')),
    fc.constant(Buffer.from(JSON.stringify(['0000-01-01 00:00:00+00', 'x'])).toString('base64url')),
    fc.constant(Buffer.from(JSON.stringify([1, 2])).toString('base64url')),
    fc.constant(Buffer.from('{"a":').toString('base64url')),
    fc.string({ maxLength: 40 }),
    fc.constant('%%%'),
  ),
  column: fc.constantFrom('phone', 'Phone', 'PHONE', '1', '2', 'mobile'),
  fileName: fc.constantFrom('suppression.csv', 'suppression.csv', 'list.txt', 'list.txt', '../../etc/passwd', 'ﬁle\u0000.csv', 'é'.repeat(255)),
};

/** A valid value for a field (with optional and nullable fields sometimes absent or null). */
export function validField(field: Field, name: string, overrides: Overrides): fc.Arbitrary<unknown> {
  const value = validValue(field.spec, name, overrides);
  const choices: fc.WeightedArbitrary<unknown>[] = [{ arbitrary: value, weight: 6 }];
  if (field.optional) choices.push({ arbitrary: fc.constant(MISSING), weight: 3 });
  if (field.nullable) choices.push({ arbitrary: fc.constant(null), weight: 1 });
  return fc.oneof(...choices);
}

export function validValue(spec: Spec, name: string, overrides: Overrides): fc.Arbitrary<unknown> {
  const override = overrides[name] ?? SHARED_OVERRIDES[name];
  if (override && spec.kind !== 'object') return override;
  switch (spec.kind) {
    case 'string':
      switch (spec.semantic) {
        case 'phone':
          return freshPhone;
        case 'timestamp':
          return fc.oneof({ arbitrary: normalTimestamp, weight: 9 }, { arbitrary: fc.constantFrom(...EDGE_VALID_TIMESTAMPS), weight: 1 });
        case 'date':
          return fc.oneof({ arbitrary: normalDate, weight: 9 }, { arbitrary: fc.constantFrom(...EDGE_VALID_DATES), weight: 1 });
        case 'day-or-timestamp':
          return fc.oneof({ arbitrary: normalDate, weight: 4 }, { arbitrary: normalTimestamp, weight: 4 }, { arbitrary: fc.constantFrom(...EDGE_VALID_DATES, ...EDGE_VALID_TIMESTAMPS), weight: 1 });
        case 'url':
          return fc.oneof(
            { arbitrary: fc.tuple(fc.domain(), fc.webPath()).map(([domain, path]) => `https://${domain}${path}`), weight: 4 },
            { arbitrary: fc.constantFrom('https://acme.example/signup', 'http://shop.acme.example/join?ref=sms', `https://acme.example/${'p'.repeat(2020)}`), weight: 2 },
          );
        case 'frequency':
          return fc.constantFrom(...VALID_FREQUENCIES);
        case 'plain':
          if (spec.pattern) return patternArb(spec.pattern, spec.max);
          return textArb(spec.min, spec.max, spec.trims);
      }
      break;
    case 'number': {
      const min = spec.min ?? -1000;
      const max = spec.max ?? 1000;
      const number = spec.integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true });
      return fc.oneof({ arbitrary: number, weight: 4 }, { arbitrary: fc.constantFrom(min, max), weight: 1 });
    }
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...spec.values);
    case 'literal':
      return fc.constantFrom(...spec.values);
    case 'array': {
      if (spec.element.kind === 'enum') {
        return fc.uniqueArray(fc.constantFrom(...spec.element.values), { minLength: Math.max(1, spec.min), maxLength: spec.element.values.length });
      }
      return fc.array(validValue(spec.element, name, overrides), { minLength: spec.min, maxLength: Math.max(spec.min, 3) });
    }
    case 'object':
      return objectArb(spec, overrides);
    case 'union':
      return fc.oneof(...spec.options.map((option) => validValue(option, name, overrides)));
    case 'unknown':
      return fc.jsonValue({ maxDepth: 2 });
  }
  return fc.constant('');
}

function patternArb(pattern: RegExp, max: number | undefined): fc.Arbitrary<string> {
  // fast-check's regex generator takes no case-insensitive flag; the lower-case language is a subset.
  const usable = new RegExp(pattern.source, pattern.flags.replace(/[iy]/g, ''));
  return fc.stringMatching(usable).filter((text) => pattern.test(text) && (max === undefined || text.length <= max));
}

/** An object with every field valid (optional ones sometimes left out). */
export function objectArb(spec: Extract<Spec, { kind: 'object' }>, overrides: Overrides = {}): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(spec.fields).map(([key, field]) => {
    const override = overrides[key];
    return [key, override && field.spec.kind === 'object' ? override : validField(field, key, overrides)] as const;
  });
  return fc.record(Object.fromEntries(entries)).map((record) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) if (value !== MISSING) out[key] = value;
    return out;
  });
}

/** A boundary or invalid value for a field of this spec, with a note saying what it is. */
export function boundaryValue(spec: Spec, name: string): fc.Arbitrary<unknown> {
  const wrongTypes: unknown[] = [null, 0, -1, 1.5, true, false, [], {}, MISSING];
  switch (spec.kind) {
    case 'string': {
      const byMeaning: unknown[] =
        spec.semantic === 'phone'
          ? INVALID_PHONES
          : spec.semantic === 'timestamp'
            ? [...INVALID_TIMESTAMPS, ...EDGE_VALID_TIMESTAMPS]
            : spec.semantic === 'date'
              ? [...INVALID_DATES, ...EDGE_VALID_DATES]
              : spec.semantic === 'day-or-timestamp'
                ? [...INVALID_DATES, ...EDGE_VALID_DATES, ...INVALID_TIMESTAMPS, ...EDGE_VALID_TIMESTAMPS]
              : spec.semantic === 'url'
                ? ['ftp://acme.example/x', 'javascript:alert(1)', 'https://', 'https://localhost/', 'https://192.0.2.1/', 'https://exa mple.com/', 'acme.example', `https://acme.example/${'p'.repeat(2040)}`, 'https://xn--80ak6aa92e.com/', 'https://acme.example/\u0000']
                : spec.semantic === 'frequency'
                  ? [...INVALID_FREQUENCIES, ...VALID_FREQUENCIES]
                  : [];
      const lengths: unknown[] = ['', ' ', '\t\n ', '\u0000', '\uD800', 'a\u0000b', `${'x'.repeat(10)}\uDC00`];
      if (spec.max !== undefined) lengths.push('a'.repeat(spec.max), 'a'.repeat(spec.max + 1), '😀'.repeat(Math.floor(spec.max / 2) + 1), ` ${'a'.repeat(spec.max)} `);
      if (spec.min > 1) lengths.push('a'.repeat(spec.min - 1));
      return fc.oneof(
        { arbitrary: fc.constantFrom(...(byMeaning.length > 0 ? byMeaning : lengths)), weight: 4 },
        { arbitrary: fc.constantFrom(...lengths), weight: 3 },
        { arbitrary: oddText(), weight: 2 },
        { arbitrary: fc.constantFrom(...wrongTypes, RUN_NATIONAL_NUMBER, OVERSIZED_BODY_TEXT), weight: 2 },
        ...(spec.semantic === 'phone' ? [{ arbitrary: freshPhone.map((phone) => [phone]), weight: 1 }] : []),
      );
    }
    case 'number': {
      const edges: unknown[] = [0, -1, 1.5, 1e21, -0, 2 ** 53, '', ' 5 ', '0x10', '1e3', 'Infinity', 'NaN', '٣', 'abc', '10abc', '-5'];
      if (spec.min !== undefined) edges.push(spec.min, spec.min - 1, String(spec.min - 1));
      if (spec.max !== undefined) edges.push(spec.max, spec.max + 1, String(spec.max + 1));
      return fc.constantFrom(...edges, ...wrongTypes);
    }
    case 'boolean':
      return fc.constantFrom('true', 'false', 1, 0, 'yes', ...wrongTypes);
    case 'enum': {
      const first = String(spec.values[0]);
      return fc.constantFrom(first.toUpperCase(), `${first} `, ` ${first}`, '', 'unknown', `${first}\u0000`, 'ǂ', 0, ...spec.values, ...wrongTypes);
    }
    case 'literal':
      return fc.constantFrom(String(spec.values[0]).toUpperCase(), '', 'unknown_kind', 'purchased_list', 'inbound_text', 'web_form', 'verbal', ...wrongTypes);
    case 'array':
      return fc.oneof(
        fc.constantFrom([], ['unknown'], 'transactional', ['transactional', 'transactional'], [null], Array.from({ length: 3000 }, () => 'promotional'), ...wrongTypes),
        fc.array(fc.constantFrom(...(spec.element.kind === 'enum' ? spec.element.values : ['x']), 'TRANSACTIONAL', ''), { minLength: 1, maxLength: 4 }),
      );
    case 'object':
    case 'union':
      return fc.constantFrom('web_form', [], {}, { kind: 'web_form' }, { kind: 'verbal', takenBy: 'a' }, { kind: 'paper_form', documentReference: 'scan-1', signed: 'yes' }, ...wrongTypes);
    case 'unknown':
      return fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(...wrongTypes));
  }
}

export interface Mutation {
  path: string[];
  value: unknown;
}

/** Paths into an object spec a mutation may touch: every field, nested ones too, and union options' fields. */
export function mutablePaths(spec: Spec): { path: string[]; field: Field }[] {
  if (spec.kind !== 'object') return [];
  const paths = [...leafPaths(spec)];
  for (const [key, field] of Object.entries(spec.fields)) {
    if (field.spec.kind !== 'union') continue;
    const seen = new Set<string>();
    for (const option of field.spec.options) {
      for (const nested of leafPaths(option, [key])) {
        const id = nested.path.join('.');
        if (seen.has(id)) continue;
        seen.add(id);
        paths.push(nested);
      }
    }
  }
  return paths;
}

/** One to three mutations of a field each, plus now and then an unknown extra field. */
export function mutationsArb(spec: Spec): fc.Arbitrary<Mutation[]> {
  const paths = mutablePaths(spec);
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    { arbitrary: fc.constantFrom(...paths).chain(({ path, field }) => boundaryValue(field.spec, path.at(-1)!).map((value) => ({ path, value }))), weight: 12 },
    { arbitrary: fc.constantFrom('extra', '__proto__x', 'constructor', 'toString', '', 'ФИО', 'a'.repeat(300)).map((key) => ({ path: [key], value: 'unexpected' })), weight: 1 },
  );
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

/** Applies mutations to a copy of the object (a path through a non-object is created). */
export function applyMutations(value: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const copy = structuredCloneLoose(value) as Record<string, unknown>;
  for (const { path, value: replacement } of mutations) {
    let parent: Record<string, unknown> = copy;
    for (const key of path.slice(0, -1)) {
      const next = parent[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) parent[key] = {};
      parent = parent[key] as Record<string, unknown>;
    }
    const last = path.at(-1)!;
    if (replacement === MISSING) delete parent[last];
    else Object.defineProperty(parent, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A deep copy that keeps placeholder instances as they are (they are materialised later). */
function structuredCloneLoose(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structuredCloneLoose);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, structuredCloneLoose(inner)]));
  }
  return value;
}

/** A short, printable description of a value for the report ("x"×70000, NUL shown as \u0000). */
export function describeValue(value: unknown): string {
  if (value === MISSING) return '(missing)';
  if (value instanceof FreshPhone) return `<fresh ${value.country} number, ${value.format}>`;
  if (value instanceof FreshId) return `<fresh id ${JSON.stringify(value.prefix)}…${JSON.stringify(value.suffix)}>`;
  if (typeof value === 'string' && value.length > 80) {
    const same = value.split('').every((ch) => ch === value[0]);
    return same ? `${JSON.stringify(value[0])}×${value.length}` : `${JSON.stringify(value.slice(0, 60))}… (${value.length} chars)`;
  }
  if (Array.isArray(value) && value.length > 10) return `[${describeValue(value[0])} ×${value.length}]`;
  const text = JSON.stringify(value, (_key, inner) => (inner instanceof FreshPhone || inner instanceof FreshId ? describeValue(inner) : inner));
  return text === undefined ? String(value) : text;
}
