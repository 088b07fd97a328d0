/**
 * Stand-ins the generators put where a request needs something unique to it (a contact number, an idempotency key),
 * replaced by real values only when the request is built, so every generated request has numbers of its own.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type PhoneCountry = 'US' | 'CA' | 'GB' | 'MX';

/** How the fresh number is written: the API must normalise all of these (DEFAULT_COUNTRY US). */
export const PHONE_FORMATS = [
  'e164',
  'national',
  'dashed',
  'dotted',
  'digits',
  'one-prefixed',
  'intl-spaced',
  'padded',
  'tel-uri',
  'extension',
  'fullwidth',
] as const;
export type PhoneFormat = (typeof PHONE_FORMATS)[number];

/** A contact or business number no other generated request uses. */
export class FreshPhone {
  constructor(
    readonly country: PhoneCountry,
    readonly format: PhoneFormat,
  ) {}
}

/** A token unique to this request (idempotency keys, import ids, program ids), with decorations around it. */
export class FreshId {
  constructor(
    readonly prefix: string,
    readonly suffix = '',
  ) {}
}

/** A value from an earlier step's response in the same scenario (a chain), or the fallback when it had none. */
export class Previous {
  constructor(
    readonly key: 'providerMessageId' | 'importId' | 'programId' | 'idempotencyKey',
    readonly fallback: string,
  ) {}
}

/** Deterministic fresh numbers: a seeded generator, checked valid with the same library the API uses. */
export class PhoneAllocator {
  private state: number;
  private readonly used = new Set<string>();

  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }

  private next(bound: number): number {
    // xorshift32: small, seedable, good enough to spread numbers.
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x % bound;
  }

  allocate(country: PhoneCountry): string {
    for (;;) {
      const candidate = this.candidate(country);
      if (this.used.has(candidate)) continue;
      const parsed = parsePhoneNumberFromString(candidate);
      if (!parsed?.isValid() || parsed.number !== candidate) continue;
      this.used.add(candidate);
      return candidate;
    }
  }

  private candidate(country: PhoneCountry): string {
    const digits = (count: number) => Array.from({ length: count }, () => String(this.next(10))).join('');
    switch (country) {
      case 'US': {
        // None of test/support/harness.ts uniquePhone's area codes, so the fuzzer never shares a contact with other tests.
        const area = US_AREA_CODES[this.next(US_AREA_CODES.length)]!;
        const exchange = 200 + this.next(800);
        if (exchange === 555 || exchange % 100 === 11) return this.candidate(country);
        return `+1${area}${exchange}${digits(4)}`;
      }
      case 'CA':
        return `+1${CA_AREA_CODES[this.next(CA_AREA_CODES.length)]!}${200 + this.next(800)}${digits(4)}`;
      case 'GB':
        return `+447${4 + this.next(6)}${digits(8)}`;
      case 'MX':
        return `+5255${digits(8)}`;
    }
  }
}

const US_AREA_CODES = ['720', '702', '813', '919', '971', '503', '602', '704', '801', '858', '404', '305', '615', '901', '469'];
const CA_AREA_CODES = ['416', '604', '514', '403', '613'];

/** The fresh number written in the requested format (what the client sends). */
export function formatPhone(e164: string, country: PhoneCountry, format: PhoneFormat): string {
  const nanp = country === 'US' || country === 'CA';
  const national = e164.slice(2);
  const [a, b, c] = [national.slice(0, 3), national.slice(3, 6), national.slice(6)];
  switch (format) {
    case 'e164':
      return e164;
    case 'national':
      return nanp ? `(${a}) ${b}-${c}` : e164;
    case 'dashed':
      return nanp ? `${a}-${b}-${c}` : e164;
    case 'dotted':
      return nanp ? `${a}.${b}.${c}` : e164;
    case 'digits':
      // Without the plus a non-NANP number reads as a (wrong) US one.
      return nanp ? national : e164.slice(1);
    case 'one-prefixed':
      return nanp ? `1${national}` : e164;
    case 'intl-spaced':
      return parsePhoneNumberFromString(e164)!.formatInternational();
    case 'padded':
      return `  ${e164}\t`;
    case 'tel-uri':
      return `tel:${e164}`;
    case 'extension':
      return nanp ? `${a}-${b}-${c} ext. 42` : `${e164} ext. 42`;
    case 'fullwidth':
      return e164.replace(/[0-9+]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
  }
}

/** E.164 of a string as the API reads it (libphonenumber, default country US), or undefined. */
export function normalisePhone(text: string): string | undefined {
  if (text.trim().length === 0 || text.trim().length > 32) return undefined;
  try {
    const parsed = parsePhoneNumberFromString(text.trim(), 'US');
    return parsed?.isValid() ? parsed.number : undefined;
  } catch {
    return undefined;
  }
}
