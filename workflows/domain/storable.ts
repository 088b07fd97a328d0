/**
 * What every store of this engine can hold: Postgres `text` and `jsonb`, and Temporal's JSON payloads. One place for
 * each limit, shared by the edges (which refuse or normalise) and the workflows (which must never be handed
 * something they then cannot write). Pure: runs inside the workflow sandbox as well as at the edges.
 */

/** U+FFFD stands in for what cannot be stored, as decoders do for malformed input (Unicode §3.9). */
export const REPLACEMENT_CHARACTER = '\uFFFD';

// Postgres text and jsonb refuse U+0000 (22021, 22P05); jsonb refuses an unpaired surrogate escape (22P05).
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const UNSTORABLE_TEST = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NUL and lone UTF-16 surrogates become U+FFFD; every other character is kept as it is. Same length. */
export function storableText(value: string): string {
  return UNSTORABLE_TEST.test(value) ? value.replace(UNSTORABLE, REPLACEMENT_CHARACTER) : value;
}

export function isStorableText(value: string): boolean {
  return !UNSTORABLE_TEST.test(value);
}

/** Why a text cannot be stored as it is, for an error that says which character; undefined when it can. */
export function unstorableReason(value: string): string | undefined {
  const match = UNSTORABLE_TEST.exec(value);
  if (!match) return undefined;
  const at = match.index;
  return match[0] === '\u0000'
    ? `contains a NUL character (U+0000) at position ${at}, which cannot be stored or sent`
    : `contains a lone UTF-16 surrogate (U+${match[0].charCodeAt(0).toString(16).toUpperCase()}) at position ${at}, which is not valid Unicode`;
}

/**
 * The bytes of a text that had to be changed, kept so the evidence still holds what arrived: base64 of its UTF-16
 * code units (little-endian), which keeps NUL and lone surrogates exactly (UTF-8 cannot encode a lone surrogate).
 */
export interface OriginalText {
  encoding: 'utf16le-base64';
  value: string;
  /** what was changed, in words */
  changed: string;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** No Buffer in the workflow sandbox: a small, exact base64 of the text's UTF-16LE code units. */
export function originalText(value: string): OriginalText {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    bytes.push(unit & 0xff, unit >> 8);
  }
  let encoded = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    encoded += BASE64_ALPHABET[a >> 2]! + BASE64_ALPHABET[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    encoded += b === undefined ? '=' : BASE64_ALPHABET[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    encoded += c === undefined ? '=' : BASE64_ALPHABET[c & 63]!;
  }
  const nul = value.includes('\u0000');
  const surrogate = LONE_SURROGATE.test(value);
  const changed = [nul ? 'NUL characters' : null, surrogate ? 'lone UTF-16 surrogates' : null].filter(Boolean).join(' and ');
  return { encoding: 'utf16le-base64', value: encoded, changed: `${changed} replaced by U+FFFD` };
}

/** Decodes originalText()'s value (for tests and for whoever audits the evidence). */
export function decodeOriginalText(original: OriginalText): string {
  const clean = original.value.replace(/=+$/, '');
  const bytes: number[] = [];
  for (let i = 0; i < clean.length; i += 4) {
    const [a, b, c, d] = [0, 1, 2, 3].map((k) => (i + k < clean.length ? BASE64_ALPHABET.indexOf(clean[i + k]!) : -1)) as [number, number, number, number];
    bytes.push((a << 2) | (b >> 4));
    if (c >= 0) bytes.push(((b & 15) << 4) | (c >> 2));
    if (d >= 0) bytes.push(((c & 3) << 6) | d);
  }
  let text = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return text;
}

/**
 * Event times the engine accepts: Postgres' timestamptz holds far more, but a consent or an opt-out dated before SMS
 * consent law (TCPA, 1991) or a century ahead is a client's bug, and year 0000 does not exist in Postgres at all.
 */
export const EARLIEST_TIMESTAMP = '1990-01-01T00:00:00Z';
export const LATEST_TIMESTAMP = '2100-01-01T00:00:00Z';
/** UTC offsets in use run from -12:00 to +14:00 (Kiribati); Postgres refuses beyond ±15:59. */
export const MAX_UTC_OFFSET_MINUTES = 14 * 60;

const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether a text is written like an ISO 8601 date-time with a UTC offset, whatever instant it names. */
export function isIsoTimestampShape(value: string): boolean {
  return TIMESTAMP_PATTERN.test(value);
}

/** Why an ISO 8601 date-time (or, with `dayAllowed`, a day) cannot be stored; undefined when it can. */
export function timestampProblem(value: string, { dayAllowed = false } = {}): string | undefined {
  const dayOnly = dayAllowed && DAY_PATTERN.test(value);
  const match = dayOnly ? DAY_PATTERN.exec(value) : TIMESTAMP_PATTERN.exec(value);
  if (!match) return dayAllowed ? 'must be a date (2026-11-27) or an ISO 8601 timestamp' : 'must be an ISO 8601 timestamp';
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => Number(part ?? 0)) as number[];
  if (month! < 1 || month! > 12) return `has month ${match[2]}, which does not exist`;
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (day! < 1 || day! > daysInMonth) return `has day ${match[3]}, but ${match[1]}-${match[2]} has ${daysInMonth} days`;
  if (hour! > 23 || minute! > 59 || second! > 59) return 'has a time of day that does not exist';
  if (match[7]) {
    const offset = Number(match[8]) * 60 + Number(match[9]);
    if (Number(match[9]) > 59 || offset > MAX_UTC_OFFSET_MINUTES) return `has UTC offset ${match[7]}${match[8]}:${match[9]}, beyond ±14:00`;
  }
  const at = Date.parse(dayOnly ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(at) || at < Date.parse(EARLIEST_TIMESTAMP) || at >= Date.parse(LATEST_TIMESTAMP)) {
    return `must lie between ${EARLIEST_TIMESTAMP.slice(0, 10)} and ${LATEST_TIMESTAMP.slice(0, 10)}`;
  }
  return undefined;
}
