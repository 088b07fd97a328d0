/**
 * consent-rules.md §6: what the first business-initiated message to a contact must carry, the footer that
 * completes one, and the program's declared frequency read as a cap. Pure: no clock, no Node imports.
 */

/** §6 (CTIA Messaging Principles, the carriers' first-message requirements): every one must be in the first message. */
export const DISCLOSURES = [
  'business_name',
  'program_description',
  'opt_out_instructions',
  'message_frequency',
  'rates_notice',
] as const;
export type Disclosure = (typeof DISCLOSURES)[number];

/** What a program declares about itself (§6): who sends, what the contact receives, how often. */
export interface ProgramDisclosureFacts {
  businessName: string;
  description: string;
  frequency: string;
}

export type FrequencyPeriod = 'day' | 'week' | 'month';
export interface FrequencyCap {
  max: number;
  per: FrequencyPeriod;
}

/** The wording the footer uses (CTIA's sample language, as in the HELP reply). */
const RATES_NOTICE = 'Msg & data rates may apply.';
const OPT_OUT_INSTRUCTIONS = 'Reply STOP to unsubscribe.';

/** "Reply STOP", "Text STOP", "reply 'STOP'". */
const OPT_OUT_PATTERN = /\b(?:reply|text)\s+["'“‘]?stop\b/i;
const RATES_PATTERN = /\b(?:msg|message)s?\s*(?:&|and)\s*data\s*rates\s*may\s*apply\b/i;
/** "up to 4 msgs/month", "4 msgs/mo", "2 messages per week", "1 msg/day". */
const FREQUENCY_CAP_PATTERN =
  /\b(?:up\s+to\s+)?(\d+)\s*(?:msgs?|messages?)\s*(?:\/|\s+per\s+)\s*(days?|d|weeks?|wks?|w|months?|mos?|mths?)\b/i;
/** "Msg frequency varies", "Message frequency varies", "Msg freq varies": a declared frequency with no cap. */
const FREQUENCY_VARIES_PATTERN = /\b(?:msgs?|messages?)\s+(?:frequency|freq)\s+varies\b/i;

const PERIOD_BY_UNIT: Record<string, FrequencyPeriod> = {
  d: 'day',
  day: 'day',
  days: 'day',
  w: 'week',
  wk: 'week',
  wks: 'week',
  week: 'week',
  weeks: 'week',
  mo: 'month',
  mos: 'month',
  mth: 'month',
  mths: 'month',
  month: 'month',
  months: 'month',
};

/** Case and spacing never decide whether a disclosure is there: "ACME  Dental" carries "Acme Dental". */
function normaliseForMatch(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
}

function contains(body: string, part: string): boolean {
  return normaliseForMatch(body).includes(normaliseForMatch(part));
}

/** Which of §6's disclosures the body lacks, in DISCLOSURES order; [] when the message is compliant. */
export function missingDisclosures(body: string, facts: ProgramDisclosureFacts): Disclosure[] {
  const present: Record<Disclosure, boolean> = {
    business_name: contains(body, facts.businessName),
    program_description: contains(body, facts.description),
    opt_out_instructions: OPT_OUT_PATTERN.test(body),
    // The declared wording, or any readable frequency: "2 msgs/week" discloses a frequency even if the program says "up to 2 messages per week".
    message_frequency: contains(body, facts.frequency) || parseFrequency(body) !== undefined,
    rates_notice: RATES_PATTERN.test(body),
  };
  return DISCLOSURES.filter((disclosure) => !present[disclosure]);
}

/** "appointment reminders" → "Appointment reminders."; leaves an existing final stop alone. */
function asSentence(text: string): string {
  const trimmed = text.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/**
 * The body completed with a footer of exactly the missing disclosures, in the canonical order
 * "Acme Dental: appointment reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe."
 * A compliant body comes back unchanged.
 */
export function appendDisclosures(body: string, facts: ProgramDisclosureFacts): string {
  const missing = new Set(missingDisclosures(body, facts));
  if (missing.size === 0) return body;

  const parts: string[] = [];
  const name = facts.businessName.trim();
  const description = facts.description.trim();
  if (missing.has('business_name') && missing.has('program_description')) {
    parts.push(asSentence(`${name}: ${description}`));
  } else if (missing.has('business_name')) {
    parts.push(asSentence(name));
  } else if (missing.has('program_description')) {
    parts.push(asSentence(description));
  }
  if (missing.has('message_frequency')) parts.push(asSentence(facts.frequency));
  if (missing.has('rates_notice')) parts.push(RATES_NOTICE);
  if (missing.has('opt_out_instructions')) parts.push(OPT_OUT_INSTRUCTIONS);

  const footer = parts.join(' ');
  const trimmedBody = body.trimEnd();
  return trimmedBody === '' ? footer : `${trimmedBody} ${footer}`;
}

/**
 * A declared frequency read as a cap: "up to 4 msgs/month" → { max: 4, per: 'month' }; "Msg frequency varies" → null
 * (no cap); text it cannot read → undefined. Never throws.
 */
export function parseFrequency(text: string): FrequencyCap | null | undefined {
  const cap = FREQUENCY_CAP_PATTERN.exec(text);
  if (cap) {
    const max = Number(cap[1]);
    const per = PERIOD_BY_UNIT[(cap[2] ?? '').toLowerCase()];
    // A cap of zero would forbid the program's own messages: that is a misreading, not a cap.
    if (per !== undefined && Number.isSafeInteger(max) && max >= 1) return { max, per };
    return undefined;
  }
  if (FREQUENCY_VARIES_PATTERN.test(text)) return null;
  return undefined;
}

const DAY_MS = 86_400_000;
/** §6: a rolling window, a month counted as 30 days. */
const WINDOW_MS: Record<FrequencyPeriod, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS };

/** The start of the rolling window that ends at `at` (an ISO timestamp): `at` minus 1, 7 or 30 days, in UTC ISO form. */
export function frequencyWindowStart(at: string, per: FrequencyPeriod): string {
  const end = Date.parse(at);
  if (Number.isNaN(end)) throw new RangeError(`frequencyWindowStart: "${at}" is not an ISO 8601 timestamp`);
  return new Date(end - WINDOW_MS[per]).toISOString();
}
