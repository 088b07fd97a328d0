/**
 * consent-rules.md §9, the compliance clock: quiet hours in the recipient's local time and state message limits, each
 * rule citing its source. Pure, and used by the edges and the send gate only: the time-zone arithmetic (luxon, over
 * the runtime's IANA data) stays out of the workflow bundle, whose actors would pay for loading it at every start and
 * whose replays must not depend on a tz-data update. The gate hands the actor the verdict with each decision.
 */
import { DateTime, IANAZone } from 'luxon';
import { areaCodeLocation, timeZonesOfRegion } from './area-codes';
import type { MessageType, SendClock } from './schemas';

/** Sending is allowed from `start` (inclusive) to `end` (exclusive), local time of day, `HH:MM` or `HH:MM:SS`. */
export interface QuietHoursWindow {
  start: string;
  end: string;
}

export interface QuietHoursRule extends QuietHoursWindow {
  /** the statute or rule, as a reader can look it up */
  source: string;
}

/** The federal window: TCPA, 47 CFR 64.1200(c)(1) — no telephone solicitation before 8 a.m. or after 9 p.m., called party's local time. */
export const FEDERAL_QUIET_HOURS: QuietHoursRule = {
  start: '08:00',
  end: '21:00',
  source: 'TCPA, 47 CFR 64.1200(c)(1): not before 8 a.m. or after 9 p.m. local time at the called party\'s location',
};

/**
 * The stricter state windows. Each was checked against the statute's text (or the enacted bill's) where it could be
 * read; a state is added here only with its citation. Texts count as calls in all three (their definitions of a
 * telephonic sales call or telephone solicitation include text messages).
 */
export const STATE_QUIET_HOURS: Readonly<Record<string, QuietHoursRule>> = {
  FL: {
    start: '08:00',
    end: '20:00',
    source: 'Florida Telemarketing Act, Fla. Stat. § 501.616(6)(a) (as amended by ch. 2021-185, SB 1120): not before 8 a.m. or after 8 p.m. local time at the called person\'s location',
  },
  OK: {
    start: '08:00',
    end: '20:00',
    source: 'Oklahoma Telephone Solicitation Act of 2022 (HB 3168, Okla. Stat. tit. 15, § 775C.1 et seq.): not before 8 a.m. or after 8 p.m. local time at the called party\'s location',
  },
  MD: {
    start: '08:00',
    end: '20:00',
    source: 'Maryland Stop the Spam Calls Act of 2023 (SB 90, Md. Code Ann., Com. Law § 14-4501 et seq., in force 2024-01-01): not before 8 a.m. or after 8 p.m. in the called party\'s time zone',
  },
};

export interface StateMessageLimit {
  max: number;
  hours: number;
  source: string;
}

/**
 * At most 3 commercial messages to a person per rolling 24 hours. The statutes count messages "on the same subject
 * matter or issue"; the engine counts every promotional message, as Klaviyo does (fail closed: the subject is not known).
 */
export const STATE_MESSAGE_LIMITS: Readonly<Record<string, StateMessageLimit>> = {
  FL: { max: 3, hours: 24, source: 'Fla. Stat. § 501.616(6)(b) (ch. 2021-185): no more than three commercial telephone solicitation calls to a person over a 24-hour period' },
  OK: { max: 3, hours: 24, source: 'Oklahoma Telephone Solicitation Act of 2022 (HB 3168): no more than three commercial telephonic sales calls to a person over a 24-hour period' },
  MD: { max: 3, hours: 24, source: 'Maryland Stop the Spam Calls Act of 2023 (SB 90): no more than three telephone solicitations to a person over a 24-hour period' },
};

/** The message types quiet hours apply to unless a program says otherwise (transactional and conversational are exempt). */
export const DEFAULT_QUIET_HOURS_TYPES: readonly MessageType[] = ['promotional'];

/** Where a number with no known area code (outside the NANP, or not geographic) is assumed to be: every US zone, so the strictest. */
export const UNKNOWN_LOCATION_TIME_ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles', 'America/Anchorage', 'Pacific/Honolulu'];

/** A state or time zone recorded with the contact's consent (a form's address, say): it overrides the area code. */
export interface RecordedLocation {
  region?: string | null;
  timeZone?: string | null;
}

export interface RecipientLocation {
  /** the state, province or territory (two letters), when known */
  region: string | null;
  /** every zone the recipient may be in: a window must be open in all of them (the most restrictive reading) */
  timeZones: string[];
  source: 'consent' | 'area_code' | 'unknown';
}

export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

/** A region the area-code table knows (a state, DC, a territory or a province). */
export function isKnownRegion(region: string): boolean {
  return timeZonesOfRegion(region).length > 0;
}

/**
 * The recipient's region and zones: a recorded time zone wins, then a recorded state's zones, then the area code's.
 * A recorded time zone alone keeps the area code's state for the state rules (they follow the number: the Florida,
 * Oklahoma and Maryland acts presume a number with their area code is a resident's).
 */
export function recipientLocation(phone: string, recorded?: RecordedLocation | null): RecipientLocation {
  const byNumber = areaCodeLocation(phone);
  // Outside the US and Canada the table's region is a country code (KY: the Cayman Islands), never a state.
  const region = recorded?.region ?? (byNumber && byNumber.country !== 'other' ? byNumber.region : null);
  if (recorded?.timeZone) return { region, timeZones: [recorded.timeZone], source: 'consent' };
  if (recorded?.region) {
    const zones = timeZonesOfRegion(recorded.region);
    if (zones.length > 0) return { region, timeZones: zones, source: 'consent' };
  }
  if (byNumber && byNumber.timeZones.length > 0) return { region, timeZones: byNumber.timeZones, source: 'area_code' };
  return { region, timeZones: UNKNOWN_LOCATION_TIME_ZONES, source: 'unknown' };
}

/** Windows of the account's own policy, by region code or `federal`: each is one more layer, so it can only narrow. */
export type QuietHoursOverrides = Readonly<Record<string, QuietHoursWindow>>;

/** The statutes' windows: what applies unless a test replaces them (the dev server cannot skip time; tests move the window). */
export interface QuietHoursRules {
  federal: QuietHoursRule;
  states: Readonly<Record<string, QuietHoursRule>>;
}
export const QUIET_HOURS_RULES: QuietHoursRules = { federal: FEDERAL_QUIET_HOURS, states: STATE_QUIET_HOURS };
/** QUIET_HOURS_RULES=all-day: every window the whole day, for sandboxes and tests of other things (never production). */
export const ALL_DAY_QUIET_HOURS_RULES: QuietHoursRules = {
  federal: { start: '00:00', end: '24:00', source: 'QUIET_HOURS_RULES=all-day: the statutes\' windows are not applied (sandboxes and tests only)' },
  states: {},
};

interface WindowLayer {
  startSeconds: number;
  endSeconds: number;
  source: string;
}

/** The windows that apply in a region, every one of which must be open: the federal one, the state's, any configured. */
export interface EffectiveQuietHours {
  layers: WindowLayer[];
}

export function quietHoursFor(region: string | null, overrides: QuietHoursOverrides = {}, rules: QuietHoursRules = QUIET_HOURS_RULES): EffectiveQuietHours {
  const layer = (window: QuietHoursWindow, source: string): WindowLayer => ({ startSeconds: secondsOfDay(window.start), endSeconds: secondsOfDay(window.end), source });
  const layers = [layer(rules.federal, rules.federal.source)];
  const state = region ? rules.states[region] : undefined;
  if (state) layers.push(layer(state, state.source));
  if (overrides.federal) layers.push(layer(overrides.federal, `the account's window ${overrides.federal.start}–${overrides.federal.end}`));
  const own = region ? overrides[region] : undefined;
  if (own) layers.push(layer(own, `the account's window for ${region} ${own.start}–${own.end}`));
  return { layers };
}

/** 'HH:MM' or 'HH:MM:SS' → seconds since local midnight (24:00 is the end of the day); throws on anything else. */
export function secondsOfDay(time: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?$/.exec(time);
  if (!match) throw new Error(`"${time}" is not a time of day (HH:MM or HH:MM:SS)`);
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3] ?? 0);
  if (seconds > 86_400) throw new Error(`"${time}" is past midnight`);
  return seconds;
}

export type QuietHoursVerdict =
  | { open: true }
  | {
      open: false;
      /** the first moment every window is open in every zone the recipient may be in */
      nextAllowedAt: string;
      /** a zone whose local time is outside a window now, that local time, and the rule it breaks */
      timeZone: string;
      localTime: string;
      source: string;
    };

/** Whether a message may go at `at` (ISO) to a recipient in these zones, and if not, when it may. */
export function quietHoursVerdict(location: RecipientLocation, hours: EffectiveQuietHours, at: string): QuietHoursVerdict {
  const now = DateTime.fromISO(at, { zone: 'utc' });
  const constraints = location.timeZones.flatMap((zone) => hours.layers.map((layer) => ({ zone, layer })));
  const broken = constraints.find(({ zone, layer }) => !isOpen(now, zone, layer));
  if (broken === undefined) return { open: true };
  let candidate = now;
  // Each step moves to the latest next opening among the windows still closed; a handful of steps settles any real case.
  for (let step = 0; step < 16; step += 1) {
    const closed = constraints.filter(({ zone, layer }) => !isOpen(candidate, zone, layer));
    if (closed.length === 0) break;
    candidate = DateTime.max(...closed.map(({ zone, layer }) => nextOpening(candidate, zone, layer))) ?? candidate;
  }
  return {
    open: false,
    nextAllowedAt: candidate.toUTC().toISO()!,
    timeZone: broken.zone,
    localTime: now.setZone(broken.zone).toFormat('HH:mm:ss'),
    source: broken.layer.source,
  };
}

/** Open from start to end, local time; a window whose end is before its start runs past midnight. */
function isOpen(at: DateTime, zone: string, layer: WindowLayer): boolean {
  const local = at.setZone(zone);
  const seconds = local.hour * 3600 + local.minute * 60 + local.second;
  return layer.startSeconds <= layer.endSeconds
    ? seconds >= layer.startSeconds && seconds < layer.endSeconds
    : seconds >= layer.startSeconds || seconds < layer.endSeconds;
}

/** The next moment after `at` when this window opens in this zone (a DST gap moves the opening forward, as luxon does). */
function nextOpening(at: DateTime, zone: string, layer: WindowLayer): DateTime {
  const local = at.setZone(zone);
  // Wall-clock fields, not seconds since midnight: on a DST day, 8 a.m. is not 8 × 3,600 s after midnight.
  const s = layer.startSeconds % 86_400;
  const openingOn = (day: DateTime) => day.set({ hour: Math.floor(s / 3600), minute: Math.floor((s % 3600) / 60), second: s % 60, millisecond: 0 });
  const today = openingOn(local);
  return today > local ? today : openingOn(local.plus({ days: 1 }));
}

/** The state limit that applies to a recipient in this region, if any. */
export function stateMessageLimitFor(region: string | null): (StateMessageLimit & { region: string }) | null {
  const limit = region ? STATE_MESSAGE_LIMITS[region] : undefined;
  return limit && region ? { ...limit, region } : null;
}

/** The account's clock settings: which types quiet hours apply to when a send names no program, and its own windows. */
export interface ComplianceClockSettings {
  quietHoursTypes: readonly MessageType[];
  windows: QuietHoursOverrides;
  /** the statutes' windows; only tests replace them */
  rules: QuietHoursRules;
}

export const DEFAULT_COMPLIANCE_CLOCK: ComplianceClockSettings = { quietHoursTypes: DEFAULT_QUIET_HOURS_TYPES, windows: {}, rules: QUIET_HOURS_RULES };
/** Every window open all day, nothing held: for what must not depend on the hour it runs at (tests, the bench). */
export const ALL_DAY_COMPLIANCE_CLOCK: ComplianceClockSettings = { ...DEFAULT_COMPLIANCE_CLOCK, rules: ALL_DAY_QUIET_HOURS_RULES };

export interface SendClockInput {
  phone: string;
  type: MessageType;
  /** the program's types, or null for a send naming no program (the account's then apply) */
  programQuietHoursTypes: readonly MessageType[] | null;
  recorded?: RecordedLocation | null;
  at: string;
}

/**
 * The clock's part of one send decision, as the actor takes it: whether quiet hours close the window now (for a type
 * they apply to) and which state limit counts. The state limit binds promotional messages only, whatever the program.
 */
export function sendClock(input: SendClockInput, settings: ComplianceClockSettings = DEFAULT_COMPLIANCE_CLOCK): { clock: SendClock; location: RecipientLocation } {
  const location = recipientLocation(input.phone, input.recorded);
  const types = input.programQuietHoursTypes ?? settings.quietHoursTypes;
  const verdict = types.includes(input.type) ? quietHoursVerdict(location, quietHoursFor(location.region, settings.windows, settings.rules), input.at) : { open: true as const };
  const limit = input.type === 'promotional' ? stateMessageLimitFor(location.region) : null;
  return {
    location,
    clock: {
      quietHours: verdict.open ? null : { nextAllowedAt: verdict.nextAllowedAt, timeZone: verdict.timeZone, localTime: verdict.localTime, source: verdict.source },
      stateLimit: limit ? { region: limit.region, max: limit.max, hours: limit.hours, source: limit.source } : null,
    },
  };
}
