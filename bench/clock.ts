/**
 * Compliance clocks for the bench's consent worker (consent-rules.md §9). The dev server cannot skip time, so the
 * statutes' windows are moved instead, as test/support/clock.ts does for the tests: open now, or opening soon.
 */
import { DateTime } from 'luxon';
import { DEFAULT_COMPLIANCE_CLOCK, STATE_QUIET_HOURS, type ComplianceClockSettings, type QuietHoursRule } from '../workflows/domain/compliance-clock';

/** The US zones a bench number's area code can put it in, west to east (phones.ts hands out continental numbers only). */
const WESTERNMOST_ZONE = 'Pacific/Honolulu';
const EASTERNMOST_ZONE = 'America/New_York';

/**
 * The statutes' layers (the federal window and each state's with a window of its own), each moved to be open from an
 * hour before now to `openForHours` from now in every US zone: a send is evaluated against as many windows as under
 * the statutes, and none is closed. Windows are local times of day, so the window starts at Honolulu's hour and ends
 * at New York's; a window past midnight wraps, as the clock reads it.
 */
export function windowsOpenNow({ openForHours = 6 }: { openForHours?: number } = {}): ComplianceClockSettings {
  const now = DateTime.now();
  const start = now.setZone(WESTERNMOST_ZONE).minus({ hours: 1 }).toFormat('HH:mm:ss');
  const end = now.setZone(EASTERNMOST_ZONE).plus({ hours: openForHours }).toFormat('HH:mm:ss');
  const moved = (rule: QuietHoursRule, name: string): QuietHoursRule => ({
    start,
    end,
    source: `bench: ${name} window moved to ${start}–${end} (open at ${now.toISO()} in every US zone; the statute's is ${rule.start}–${rule.end})`,
  });
  return {
    ...DEFAULT_COMPLIANCE_CLOCK,
    rules: {
      federal: moved(DEFAULT_COMPLIANCE_CLOCK.rules.federal, 'federal'),
      states: Object.fromEntries(Object.entries(STATE_QUIET_HOURS).map(([region, rule]) => [region, moved(rule, region)])),
    },
  };
}

/**
 * As test/support/clock.ts's windowOpeningIn: the federal window the whole day, and `region`'s window (in `timeZone`'s
 * local time) opening `seconds` from now, open for `openFor` seconds. Also returns the opening, to the second (as the
 * window's start is written), so a reader knows when the held recipients become due.
 */
export function windowOpeningIn(
  seconds: number,
  { region = 'FL', timeZone = 'America/New_York', openFor = 3600 }: { region?: string; timeZone?: string; openFor?: number } = {},
): { clock: ComplianceClockSettings; opensAt: Date } {
  const opens = DateTime.now().setZone(timeZone).plus({ seconds }).startOf('second');
  const closes = opens.plus({ seconds: openFor });
  return {
    opensAt: opens.toJSDate(),
    clock: {
      ...DEFAULT_COMPLIANCE_CLOCK,
      rules: {
        federal: { start: '00:00', end: '24:00', source: 'bench: the federal window is the whole day' },
        states: { [region]: { start: opens.toFormat('HH:mm:ss'), end: closes.toFormat('HH:mm:ss'), source: `bench: ${region} window opening at ${opens.toISO()}` } },
      },
    },
  };
}
