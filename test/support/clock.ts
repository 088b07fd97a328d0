/**
 * The compliance clock for tests: the dev server cannot skip time, so a test moves a state's sending window to open a
 * few seconds from now instead (consent-rules.md §9), and the federal window to the whole day.
 */
import { DateTime } from 'luxon';
import { ALL_DAY_COMPLIANCE_CLOCK, DEFAULT_COMPLIANCE_CLOCK, type ComplianceClockSettings } from '../../workflows/domain/compliance-clock';

/** A window, in `timeZone`'s local time, that opens `seconds` from now and stays open for `openFor` seconds. */
export function windowOpeningIn(seconds: number, { region = 'FL', timeZone = 'America/New_York', openFor = 3600 } = {}): ComplianceClockSettings {
  const opens = DateTime.now().setZone(timeZone).plus({ seconds });
  const closes = opens.plus({ seconds: openFor });
  return {
    ...DEFAULT_COMPLIANCE_CLOCK,
    rules: {
      federal: { start: '00:00', end: '24:00', source: 'test: the federal window is the whole day' },
      states: { [region]: { start: opens.toFormat('HH:mm:ss'), end: closes.toFormat('HH:mm:ss'), source: `test: ${region} window opening at ${opens.toISO()}` } },
    },
  };
}

/** Every window open all day: nothing is held (a test of something else that sends promotional messages at any hour). */
export const ALWAYS_OPEN: ComplianceClockSettings = ALL_DAY_COMPLIANCE_CLOCK;
