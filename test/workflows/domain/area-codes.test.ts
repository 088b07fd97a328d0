import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AREA_CODE_SOURCE,
  areaCodeLocation,
  areaCodeOf,
  timeZonesOfRegion,
  type AreaCodeLocation,
} from '../../../workflows/domain/area-codes';

// Every row of the table, read through the public lookup: NPA 200-999 with a valid exchange (555-0123).
const ALL: AreaCodeLocation[] = [];
for (let npa = 200; npa <= 999; npa++) {
  const location = areaCodeLocation(`+1${npa}5550123`);
  if (location) ALL.push(location);
}

const US_STATES_AND_DC = [
  'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'DC', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY', 'LA',
  'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR',
  'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY',
];
const US_TERRITORIES = ['PR', 'VI', 'GU', 'MP', 'AS'];
const CANADIAN_REGIONS = ['AB', 'BC', 'MB', 'NB', 'NL', 'NS', 'ON', 'QC', 'SK', 'NT', 'YT', 'NU', 'PE'];

describe('areaCodeLocation', () => {
  // Checked against libphonenumber's geocoding/en/1.txt and timezones/map_data.txt at the commit AREA_CODE_SOURCE names.
  it.each<[phone: string, region: string, country: AreaCodeLocation['country'], timeZones: string[]]>([
    ['+13055551234', 'FL', 'US', ['America/New_York']],
    ['+17865551234', 'FL', 'US', ['America/New_York']],
    ['+18505551234', 'FL', 'US', ['America/Chicago', 'America/New_York']],
    ['+14055551234', 'OK', 'US', ['America/Chicago']],
    ['+19185551234', 'OK', 'US', ['America/Chicago']],
    ['+13015551234', 'MD', 'US', ['America/New_York']],
    ['+14105551234', 'MD', 'US', ['America/New_York']],
    ['+14435551234', 'MD', 'US', ['America/New_York']],
    ['+12125551234', 'NY', 'US', ['America/New_York']],
    ['+14155551234', 'CA', 'US', ['America/Los_Angeles']],
    ['+16025551234', 'AZ', 'US', ['America/Phoenix']],
    ['+18085551234', 'HI', 'US', ['Pacific/Honolulu']],
    // libphonenumber also maps one 907 exchange (907-581) to Pacific/Honolulu.
    ['+19075551234', 'AK', 'US', ['America/Adak', 'America/Anchorage', 'America/Juneau', 'Pacific/Honolulu']],
    ['+17875551234', 'PR', 'US', ['America/Puerto_Rico']],
    ['+19395551234', 'PR', 'US', ['America/Puerto_Rico']],
    ['+13405551234', 'VI', 'US', ['America/St_Thomas']],
    ['+16715551234', 'GU', 'US', ['Pacific/Guam']],
    ['+14165551234', 'ON', 'CA', ['America/Toronto']],
    ['+16045551234', 'BC', 'CA', ['America/Vancouver']],
    ['+19025551234', 'NS', 'CA', ['America/Halifax']],
    ['+12025551234', 'DC', 'US', ['America/New_York']],
    ['+19155551234', 'TX', 'US', ['America/Denver']],
    ['+18765551234', 'JM', 'other', ['America/Jamaica']],
    ['+13455551234', 'KY', 'other', ['America/Cayman']],
  ])('%s is %s (%s) in %j', (phone, region, country, timeZones) => {
    expect(areaCodeLocation(phone)).toEqual({ areaCode: phone.slice(2, 5), region, country, timeZones });
  });

  it.each(['800', '888', '877', '866', '855', '844', '833', '900', '500', '521', '533', '544', '566', '577', '588', '600', '700', '710', '211', '911'])(
    'maps non-geographic %s to nothing',
    (npa) => {
      expect(areaCodeOf(`+1${npa}5550123`)).toBe(npa);
      expect(areaCodeLocation(`+1${npa}5550123`)).toBeUndefined();
    },
  );

  it('maps numbers outside +1 and malformed input to nothing', () => {
    for (const phone of ['+447911123456', '+525512345678', '+861012345678', '4155551234', '14155551234', '+1415555123', '+141555512345', '+1 415 555 1234', '+1(415)5551234', '+10155551234', '+14150551234', ' +14155551234', '', '+1', 'tel:+14155551234']) {
      expect(areaCodeOf(phone), phone).toBeUndefined();
      expect(areaCodeLocation(phone), phone).toBeUndefined();
    }
  });

  it('hands out copies: changing a result does not change the table', () => {
    areaCodeLocation('+18505551234')!.timeZones.push('Europe/London');
    expect(areaCodeLocation('+18505551234')!.timeZones).toEqual(['America/Chicago', 'America/New_York']);
  });
});

describe('areaCodeOf', () => {
  it('reads the NPA of a NANP E.164 number', () => {
    expect(areaCodeOf('+14155551234')).toBe('415');
    expect(areaCodeOf('+12015550123')).toBe('201');
    expect(areaCodeOf('+18005550199')).toBe('800');
  });
});

describe('the table', () => {
  it('has every geographic area code libphonenumber knows: 365 US (states, DC, territories), 55 Canadian, 21 elsewhere', () => {
    expect(ALL.filter((l) => l.country === 'US')).toHaveLength(365);
    expect(ALL.filter((l) => l.country === 'CA')).toHaveLength(55);
    expect(ALL.filter((l) => l.country === 'other')).toHaveLength(21);
  });

  it('names only valid IANA zones, sorted and without duplicates, at least one per area code', () => {
    for (const { areaCode, timeZones } of ALL) {
      expect(timeZones.length, areaCode).toBeGreaterThan(0);
      expect(timeZones, areaCode).toEqual([...new Set(timeZones)].sort());
      for (const timeZone of timeZones) {
        expect(() => new Intl.DateTimeFormat('en-US', { timeZone }), `${areaCode} ${timeZone}`).not.toThrow();
      }
    }
  });

  it('has every US state, DC, US territory and Canadian province and territory', () => {
    const us = new Set(ALL.filter((l) => l.country === 'US').map((l) => l.region));
    const ca = new Set(ALL.filter((l) => l.country === 'CA').map((l) => l.region));
    for (const region of [...US_STATES_AND_DC, ...US_TERRITORIES]) expect(us.has(region), region).toBe(true);
    expect([...us].sort()).toEqual([...US_STATES_AND_DC, ...US_TERRITORIES].sort());
    // PE, NU and YT share 902/782 and 867 with NS and NT, which those area codes' locations name.
    expect([...ca].sort()).toEqual(CANADIAN_REGIONS.filter((r) => !['PE', 'NU', 'YT'].includes(r)).sort());
    for (const region of [...US_STATES_AND_DC, ...US_TERRITORIES, ...CANADIAN_REGIONS]) {
      expect(timeZonesOfRegion(region).length, region).toBeGreaterThan(0);
    }
  });

  it('names its source and the commit it was read at', () => {
    expect(AREA_CODE_SOURCE).toMatch(/libphonenumber/);
    expect(AREA_CODE_SOURCE).toMatch(/\b[0-9a-f]{40}\b/);
  });

  it('imports nothing and stays small, so the workflow sandbox can load it', () => {
    const source = readFileSync(path.join(__dirname, '../../../workflows/domain/area-codes.ts'), 'utf8');
    expect(source).not.toMatch(/^\s*import\b|\brequire\(|\bimport\(/m);
    expect(source.length).toBeLessThan(60_000);
  });
});

describe('timeZonesOfRegion', () => {
  it('unions the zones of a region’s area codes', () => {
    expect(timeZonesOfRegion('FL')).toEqual(['America/Chicago', 'America/New_York']);
    expect(timeZonesOfRegion('MD')).toEqual(['America/New_York']);
    expect(timeZonesOfRegion('OK')).toEqual(['America/Chicago']);
    expect(timeZonesOfRegion('AZ')).toEqual(['America/Denver', 'America/Phoenix']);
    expect(timeZonesOfRegion('TX')).toEqual(['America/Chicago', 'America/Denver']);
    expect(timeZonesOfRegion('PE')).toEqual(['America/Halifax']);
    expect(timeZonesOfRegion('fl')).toEqual(timeZonesOfRegion('FL'));
  });

  it('is [] for an unknown code, and never counts another country whose ISO code is a state’s', () => {
    expect(timeZonesOfRegion('ZZ')).toEqual([]);
    expect(timeZonesOfRegion('')).toEqual([]);
    expect(timeZonesOfRegion('JM')).toEqual([]);
    expect(timeZonesOfRegion('KY')).not.toContain('America/Cayman');
    expect(timeZonesOfRegion('MS')).not.toContain('America/Montserrat');
  });

  it('covers the zones of each of the region’s area codes', () => {
    for (const location of ALL.filter((l) => l.country !== 'other')) {
      for (const zone of location.timeZones) expect(timeZonesOfRegion(location.region), location.areaCode).toContain(zone);
    }
  });
});
