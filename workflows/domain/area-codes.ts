// The state, province or territory and the IANA time zones of each North American Numbering Plan (+1) area code, so
// the compliance clock can tell where a number is and what its local time is (every zone the area code spans: a send
// window has to hold in all of them when the exchange does not say which).
// Pure data and string handling: imports nothing and uses no clock or randomness, so it runs in the Temporal workflow
// sandbox and at the HTTP edge alike.
//
// Source: Google libphonenumber v9.0.35, commit f7e3e88c92b905c8d6edb81f336dbe25edc05b52
// (https://github.com/google/libphonenumber), files:
//   resources/PhoneNumberMetadata.xml  which area codes are geographic and in service, and for which region: an area
//                                      code is in the table when some number NPA-NXX-XXXX matches the fixedLine or
//                                      mobile pattern of one of the 25 territories with countryCode="1"; toll-free
//                                      (800 888 877 866 855 844 833), premium (900), personal communications (500
//                                      52x 533 544 566 577 588), 600, 700, 710, N11 and unassigned codes match none
//                                      and are absent, so they map to nothing.
//   resources/geocoding/en/1.txt       the region: the area code's own line ("1201|New Jersey", "1212|New York, NY",
//                                      "1902|Nova Scotia/Prince Edward Island") mapped to USPS / Canada Post codes;
//                                      where that line is missing (203 310 713 718 905) the code every longer prefix
//                                      names ("1203276|Stamford, CT"). For the US territories and the other NANP
//                                      countries the region is the metadata's territory id (PR, VI, GU, MP, AS, JM…).
//   resources/timezones/map_data.txt   the zones: the union of the zones of every line whose prefix starts with
//                                      1<NPA> (1850|America/New_York, 1850200|America/Chicago, … gives 850 both).
// The generator (a one-off Node script, not committed) did exactly that for NPA 200-999 and printed one string per area
// code, 'NPA:REGION[,REGION]:ZONE[,ZONE]', regions in the order the geocoding line names them, zones sorted and
// deduplicated. Cross-checks when it ran: the area codes the metadata accepts are exactly those map_data.txt
// has zones for (441), and every US and Canadian one has geocoding lines.
// To refresh: rerun those steps on a newer libphonenumber release and replace the three lists and AREA_CODE_SOURCE.
//
// What the source says that may surprise:
//   - 902 and 782 serve Nova Scotia and Prince Edward Island, 867 the Northwest Territories, Nunavut and Yukon: the
//     location's region is the first (NS, NT); timeZonesOfRegion counts the area code for every region it serves.
//   - 907 (Alaska) includes Pacific/Honolulu: libphonenumber maps exchange 907-581 there. 709 and 879 (Newfoundland
//     and Labrador) include America/Puerto_Rico (Atlantic time without DST), 418 (Quebec) America/Halifax.
//   - The zones are libphonenumber's choice of IANA names: Canada's 867 lists America/Vancouver, America/Edmonton,
//     America/Winnipeg, America/Toronto and America/Fort_Nelson rather than Yukon's America/Whitehorse, say.
// Other NANP countries (the Caribbean and Bermuda: 242 Bahamas, 876 Jamaica, 809 Dominican Republic, …) are in the
// table with country 'other' and their ISO 3166 country code as region. Those codes collide with US state codes (KY is
// the Cayman Islands, MS Montserrat), so check country before reading region as a state, and timeZonesOfRegion counts
// only US and Canadian area codes.

export interface AreaCodeLocation {
  /** the three-digit NPA, e.g. '415' */
  areaCode: string;
  /**
   * two-letter USPS code for US states, DC and territories (PR, VI, GU, MP, AS); Canada Post code for provinces and
   * territories; ISO 3166-1 alpha-2 country code when country is 'other'
   */
  region: string;
  /** 'US' covers the states, DC and the US territories */
  country: 'US' | 'CA' | 'other';
  /** the IANA time zones the area code spans, sorted, without duplicates; most have one */
  timeZones: string[];
}

export const AREA_CODE_SOURCE =
  'Google libphonenumber v9.0.35 (commit f7e3e88c92b905c8d6edb81f336dbe25edc05b52): resources/PhoneNumberMetadata.xml, resources/geocoding/en/1.txt, resources/timezones/map_data.txt';

// 'NPA:REGION[,REGION]:ZONE[,ZONE]'

/** The 50 states, DC and the US territories (PR, VI, GU, MP, AS). */
const US_AREA_CODES: readonly string[] = [
  '201:NJ:America/New_York',
  '202:DC:America/New_York',
  '203:CT:America/New_York',
  '205:AL:America/Chicago',
  '206:WA:America/Los_Angeles',
  '207:ME:America/New_York',
  '208:ID:America/Boise,America/Denver,America/Los_Angeles',
  '209:CA:America/Los_Angeles',
  '210:TX:America/Chicago',
  '212:NY:America/New_York',
  '213:CA:America/Los_Angeles',
  '214:TX:America/Chicago',
  '215:PA:America/New_York',
  '216:OH:America/New_York',
  '217:IL:America/Chicago',
  '218:MN:America/Chicago',
  '219:IN:America/Chicago,America/New_York',
  '220:OH:America/New_York',
  '223:PA:America/New_York',
  '224:IL:America/Chicago',
  '225:LA:America/Chicago',
  '227:MD:America/New_York',
  '228:MS:America/Chicago',
  '229:GA:America/New_York',
  '231:MI:America/New_York',
  '234:OH:America/New_York',
  '235:MO:America/Chicago',
  '239:FL:America/New_York',
  '240:MD:America/New_York',
  '248:MI:America/New_York',
  '251:AL:America/Chicago',
  '252:NC:America/New_York',
  '253:WA:America/Los_Angeles',
  '254:TX:America/Chicago',
  '256:AL:America/Chicago',
  '260:IN:America/New_York',
  '262:WI:America/Chicago',
  '267:PA:America/New_York',
  '269:MI:America/New_York',
  '270:KY:America/Chicago,America/New_York',
  '272:PA:America/New_York',
  '274:WI:America/Chicago',
  '276:VA:America/New_York',
  '279:CA:America/Los_Angeles',
  '281:TX:America/Chicago',
  '283:OH:America/New_York',
  '301:MD:America/New_York',
  '302:DE:America/New_York',
  '303:CO:America/Denver',
  '304:WV:America/New_York',
  '305:FL:America/New_York',
  '307:WY:America/Denver',
  '308:NE:America/Chicago,America/Denver',
  '309:IL:America/Chicago',
  '310:CA:America/Los_Angeles',
  '312:IL:America/Chicago',
  '313:MI:America/New_York',
  '314:MO:America/Chicago',
  '315:NY:America/New_York',
  '316:KS:America/Chicago',
  '317:IN:America/New_York',
  '318:LA:America/Chicago',
  '319:IA:America/Chicago',
  '320:MN:America/Chicago',
  '321:FL:America/New_York',
  '323:CA:America/Los_Angeles',
  '324:FL:America/New_York',
  '325:TX:America/Chicago',
  '326:OH:America/New_York',
  '327:AR:America/Chicago',
  '329:NY:America/New_York',
  '330:OH:America/New_York',
  '331:IL:America/Chicago',
  '332:NY:America/New_York',
  '334:AL:America/Chicago',
  '336:NC:America/New_York',
  '337:LA:America/Chicago',
  '339:MA:America/New_York',
  '340:VI:America/St_Thomas',
  '341:CA:America/Los_Angeles',
  '346:TX:America/Chicago',
  '347:NY:America/New_York',
  '350:CA:America/Los_Angeles',
  '351:MA:America/New_York',
  '352:FL:America/New_York',
  '353:WI:America/Chicago',
  '360:WA:America/Los_Angeles',
  '361:TX:America/Chicago',
  '363:NY:America/New_York',
  '364:KY:America/New_York',
  '369:CA:America/Los_Angeles',
  '380:OH:America/New_York',
  '385:UT:America/Denver',
  '386:FL:America/New_York',
  '401:RI:America/New_York',
  '402:NE:America/Chicago',
  '404:GA:America/New_York',
  '405:OK:America/Chicago',
  '406:MT:America/Denver',
  '407:FL:America/New_York',
  '408:CA:America/Los_Angeles',
  '409:TX:America/Chicago',
  '410:MD:America/New_York',
  '412:PA:America/New_York',
  '413:MA:America/New_York',
  '414:WI:America/Chicago',
  '415:CA:America/Los_Angeles',
  '417:MO:America/Chicago',
  '419:OH:America/New_York',
  '423:TN:America/Chicago,America/New_York',
  '424:CA:America/Los_Angeles',
  '425:WA:America/Los_Angeles',
  '430:TX:America/Chicago',
  '432:TX:America/Chicago',
  '434:VA:America/New_York',
  '435:UT:America/Denver',
  '440:OH:America/New_York',
  '442:CA:America/Los_Angeles',
  '443:MD:America/New_York',
  '445:PA:America/New_York',
  '447:IL:America/Chicago',
  '448:FL:America/New_York',
  '458:OR:America/Los_Angeles',
  '463:IN:America/New_York',
  '464:IL:America/Chicago',
  '469:TX:America/Chicago',
  '470:GA:America/New_York',
  '472:NC:America/New_York',
  '475:CT:America/New_York',
  '478:GA:America/New_York',
  '479:AR:America/Chicago',
  '480:AZ:America/Phoenix',
  '484:PA:America/New_York',
  '501:AR:America/Chicago',
  '502:KY:America/New_York',
  '503:OR:America/Los_Angeles',
  '504:LA:America/Chicago',
  '505:NM:America/Denver',
  '507:MN:America/Chicago',
  '508:MA:America/New_York',
  '509:WA:America/Los_Angeles',
  '510:CA:America/Los_Angeles',
  '512:TX:America/Chicago',
  '513:OH:America/New_York',
  '515:IA:America/Chicago',
  '516:NY:America/New_York',
  '517:MI:America/New_York',
  '518:NY:America/New_York',
  '520:AZ:America/Phoenix',
  '530:CA:America/Los_Angeles',
  '531:NE:America/Chicago',
  '534:WI:America/Chicago',
  '539:OK:America/Chicago',
  '540:VA:America/New_York',
  '541:OR:America/Denver,America/Los_Angeles',
  '551:NJ:America/New_York',
  '557:MO:America/Chicago',
  '559:CA:America/Los_Angeles',
  '561:FL:America/New_York',
  '562:CA:America/Los_Angeles',
  '563:IA:America/Chicago',
  '564:WA:America/Los_Angeles',
  '567:OH:America/New_York',
  '570:PA:America/New_York',
  '571:VA:America/New_York',
  '572:OK:America/Chicago',
  '573:MO:America/Chicago',
  '574:IN:America/Chicago,America/New_York',
  '575:NM:America/Denver',
  '580:OK:America/Chicago',
  '582:PA:America/New_York',
  '585:NY:America/New_York',
  '586:MI:America/New_York',
  '601:MS:America/Chicago',
  '602:AZ:America/Phoenix',
  '603:NH:America/New_York',
  '605:SD:America/Chicago,America/Denver,America/North_Dakota/Center',
  '606:KY:America/Chicago,America/New_York',
  '607:NY:America/New_York',
  '608:WI:America/Chicago',
  '609:NJ:America/New_York',
  '610:PA:America/New_York',
  '612:MN:America/Chicago',
  '614:OH:America/New_York',
  '615:TN:America/Chicago',
  '616:MI:America/New_York',
  '617:MA:America/New_York',
  '618:IL:America/Chicago',
  '619:CA:America/Los_Angeles',
  '620:KS:America/Chicago,America/Denver',
  '623:AZ:America/Phoenix',
  '626:CA:America/Los_Angeles',
  '628:CA:America/Los_Angeles',
  '629:TN:America/Chicago',
  '630:IL:America/Chicago',
  '631:NY:America/New_York',
  '636:MO:America/Chicago',
  '640:NJ:America/New_York',
  '641:IA:America/Chicago',
  '645:FL:America/New_York',
  '646:NY:America/New_York',
  '650:CA:America/Los_Angeles',
  '651:MN:America/Chicago',
  '656:FL:America/New_York',
  '657:CA:America/Los_Angeles',
  '659:AL:America/Chicago',
  '660:MO:America/Chicago',
  '661:CA:America/Los_Angeles',
  '662:MS:America/Chicago',
  '667:MD:America/New_York',
  '669:CA:America/Los_Angeles',
  '670:MP:Pacific/Saipan',
  '671:GU:Pacific/Guam',
  '678:GA:America/New_York',
  '680:NY:America/New_York',
  '681:WV:America/New_York',
  '682:TX:America/Chicago',
  '684:AS:Pacific/Pago_Pago',
  '686:VA:America/New_York',
  '689:FL:America/Chicago',
  '701:ND:America/Chicago,America/Denver,America/North_Dakota/Center',
  '702:NV:America/Los_Angeles',
  '703:VA:America/New_York',
  '704:NC:America/New_York',
  '706:GA:America/New_York',
  '707:CA:America/Los_Angeles',
  '708:IL:America/Chicago',
  '712:IA:America/Chicago',
  '713:TX:America/Chicago',
  '714:CA:America/Los_Angeles',
  '715:WI:America/Chicago',
  '716:NY:America/New_York',
  '717:PA:America/New_York',
  '718:NY:America/New_York',
  '719:CO:America/Denver',
  '720:CO:America/Denver',
  '724:PA:America/New_York',
  '725:NV:America/Los_Angeles',
  '726:TX:America/Chicago',
  '727:FL:America/New_York',
  '728:FL:America/New_York',
  '730:IL:America/Chicago',
  '731:TN:America/Chicago',
  '732:NJ:America/New_York',
  '734:MI:America/New_York',
  '737:TX:America/Chicago',
  '738:CA:America/Los_Angeles',
  '740:OH:America/New_York',
  '743:NC:America/New_York',
  '747:CA:America/Los_Angeles',
  '748:CO:America/Denver',
  '754:FL:America/New_York',
  '757:VA:America/New_York',
  '760:CA:America/Los_Angeles',
  '762:GA:America/New_York',
  '763:MN:America/Chicago',
  '765:IN:America/New_York',
  '769:MS:America/Chicago',
  '770:GA:America/New_York',
  '771:DC:America/New_York',
  '772:FL:America/New_York',
  '773:IL:America/Chicago',
  '774:MA:America/New_York',
  '775:NV:America/Boise,America/Denver,America/Los_Angeles',
  '779:IL:America/Chicago',
  '781:MA:America/New_York',
  '785:KS:America/Chicago,America/Denver',
  '786:FL:America/New_York',
  '787:PR:America/Puerto_Rico',
  '801:UT:America/Denver',
  '802:VT:America/New_York',
  '803:SC:America/New_York',
  '804:VA:America/New_York',
  '805:CA:America/Los_Angeles',
  '806:TX:America/Chicago',
  '808:HI:Pacific/Honolulu',
  '810:MI:America/New_York',
  '812:IN:America/Chicago,America/New_York',
  '813:FL:America/New_York',
  '814:PA:America/New_York',
  '815:IL:America/Chicago',
  '816:MO:America/Chicago',
  '817:TX:America/Chicago',
  '818:CA:America/Los_Angeles',
  '820:CA:America/Los_Angeles',
  '821:SC:America/New_York',
  '826:VA:America/New_York',
  '828:NC:America/New_York',
  '830:TX:America/Chicago',
  '831:CA:America/Los_Angeles',
  '832:TX:America/Chicago',
  '835:PA:America/New_York',
  '838:NY:America/New_York',
  '839:SC:America/New_York',
  '840:CA:America/Los_Angeles',
  '843:SC:America/New_York',
  '845:NY:America/New_York',
  '847:IL:America/Chicago',
  '848:NJ:America/New_York',
  '850:FL:America/Chicago,America/New_York',
  '854:SC:America/New_York',
  '856:NJ:America/New_York',
  '857:MA:America/New_York',
  '858:CA:America/Los_Angeles',
  '859:KY:America/New_York',
  '860:CT:America/New_York',
  '862:NJ:America/New_York',
  '863:FL:America/New_York',
  '864:SC:America/New_York',
  '865:TN:America/New_York',
  '870:AR:America/Chicago',
  '872:IL:America/Chicago',
  '878:PA:America/New_York',
  '901:TN:America/Chicago',
  '903:TX:America/Chicago',
  '904:FL:America/New_York',
  '906:MI:America/Chicago,America/New_York',
  '907:AK:America/Adak,America/Anchorage,America/Juneau,Pacific/Honolulu',
  '908:NJ:America/New_York',
  '909:CA:America/Los_Angeles',
  '910:NC:America/New_York',
  '912:GA:America/New_York',
  '913:KS:America/Chicago',
  '914:NY:America/New_York',
  '915:TX:America/Denver',
  '916:CA:America/Los_Angeles',
  '917:NY:America/New_York',
  '918:OK:America/Chicago',
  '919:NC:America/New_York',
  '920:WI:America/Chicago',
  '925:CA:America/Los_Angeles',
  '928:AZ:America/Denver,America/Phoenix',
  '929:NY:America/New_York',
  '930:IN:America/New_York',
  '931:TN:America/Chicago',
  '934:NY:America/New_York',
  '936:TX:America/Chicago',
  '937:OH:America/New_York',
  '938:AL:America/Chicago',
  '939:PR:America/Puerto_Rico',
  '940:TX:America/Chicago',
  '941:FL:America/New_York',
  '943:GA:America/New_York',
  '945:TX:America/Chicago',
  '947:MI:America/New_York',
  '948:VA:America/New_York',
  '949:CA:America/Los_Angeles',
  '951:CA:America/Los_Angeles',
  '952:MN:America/Chicago',
  '954:FL:America/New_York',
  '956:TX:America/Chicago',
  '959:CT:America/New_York',
  '970:CO:America/Denver',
  '971:OR:America/Los_Angeles',
  '972:TX:America/Chicago',
  '973:NJ:America/New_York',
  '975:MO:America/Chicago',
  '978:MA:America/New_York',
  '979:TX:America/Chicago',
  '980:NC:America/New_York',
  '983:CO:America/Denver',
  '984:NC:America/New_York',
  '985:LA:America/Chicago',
  '986:ID:America/Boise,America/Los_Angeles',
  '989:MI:America/New_York',
];

/** Canada's provinces and territories. */
const CANADA_AREA_CODES: readonly string[] = [
  '204:MB:America/Winnipeg',
  '226:ON:America/Toronto',
  '236:BC:America/Vancouver',
  '249:ON:America/Toronto',
  '250:BC:America/Edmonton,America/Vancouver',
  '257:BC:America/Vancouver',
  '263:QC:America/Toronto',
  '289:ON:America/Toronto',
  '306:SK:America/Regina',
  '343:ON:America/Toronto',
  '354:QC:America/Toronto',
  '365:ON:America/Toronto',
  '367:QC:America/Toronto',
  '368:AB:America/Edmonton',
  '382:ON:America/Toronto',
  '403:AB:America/Edmonton',
  '416:ON:America/Toronto',
  '418:QC:America/Halifax,America/Toronto',
  '428:NB:America/Halifax',
  '431:MB:America/Winnipeg',
  '437:ON:America/Toronto',
  '438:QC:America/Toronto',
  '450:QC:America/Toronto',
  '468:QC:America/Toronto',
  '474:SK:America/Winnipeg',
  '506:NB:America/Halifax',
  '514:QC:America/Toronto',
  '519:ON:America/Toronto',
  '548:ON:America/Toronto',
  '579:QC:America/Toronto',
  '581:QC:America/Toronto',
  '584:MB:America/Winnipeg',
  '587:AB:America/Edmonton',
  '604:BC:America/Vancouver',
  '613:ON:America/Toronto',
  '639:SK:America/Regina',
  '647:ON:America/Toronto',
  '672:BC:America/Vancouver',
  '683:ON:America/Toronto',
  '705:ON:America/Toronto',
  '709:NL:America/Halifax,America/Puerto_Rico,America/St_Johns',
  '742:ON:America/Toronto',
  '753:ON:America/Toronto',
  '778:BC:America/Vancouver',
  '780:AB:America/Edmonton',
  '782:NS,PE:America/Halifax',
  '807:ON:America/Toronto,America/Winnipeg',
  '819:QC:America/Toronto',
  '825:AB:America/Edmonton',
  '867:NT,NU,YT:America/Edmonton,America/Fort_Nelson,America/Toronto,America/Vancouver,America/Winnipeg',
  '873:QC:America/Toronto',
  '879:NL:America/Puerto_Rico,America/St_Johns',
  '902:NS,PE:America/Halifax',
  '905:ON:America/Toronto',
  '942:ON:America/Toronto',
];

/** The other NANP countries and territories; region is the ISO 3166-1 country code. */
const OTHER_NANP_AREA_CODES: readonly string[] = [
  '242:BS:America/Nassau',
  '246:BB:America/Barbados',
  '264:AI:America/Anguilla',
  '268:AG:America/Antigua',
  '284:VG:America/Tortola',
  '345:KY:America/Cayman',
  '441:BM:Atlantic/Bermuda',
  '473:GD:America/Grenada',
  '649:TC:America/Grand_Turk',
  '658:JM:America/Jamaica',
  '664:MS:America/Montserrat',
  '721:SX:America/Lower_Princes',
  '758:LC:America/St_Lucia',
  '767:DM:America/Dominica',
  '784:VC:America/St_Vincent',
  '809:DO:America/Santo_Domingo',
  '829:DO:America/Santo_Domingo',
  '849:DO:America/Santo_Domingo',
  '868:TT:America/Port_of_Spain',
  '869:KN:America/St_Kitts',
  '876:JM:America/Jamaica',
];

interface AreaCodeEntry {
  readonly regions: readonly string[];
  readonly country: AreaCodeLocation['country'];
  readonly timeZones: readonly string[];
}

const BY_AREA_CODE = new Map<string, AreaCodeEntry>();
/** state or province code -> the zones of its area codes; US and Canada only (see the header on ISO code clashes) */
const ZONES_BY_REGION = new Map<string, Set<string>>();

function load(lines: readonly string[], country: AreaCodeLocation['country']): void {
  for (const line of lines) {
    const [areaCode = '', regions = '', zones = ''] = line.split(':');
    const entry: AreaCodeEntry = { regions: regions.split(','), country, timeZones: zones.split(',') };
    BY_AREA_CODE.set(areaCode, entry);
    if (country === 'other') continue;
    for (const region of entry.regions) {
      const set = ZONES_BY_REGION.get(region) ?? new Set<string>();
      for (const zone of entry.timeZones) set.add(zone);
      ZONES_BY_REGION.set(region, set);
    }
  }
}
load(US_AREA_CODES, 'US');
load(CANADA_AREA_CODES, 'CA');
load(OTHER_NANP_AREA_CODES, 'other');

// E.164 in the NANP: +1, an area code (NPA) and an exchange (NXX) that each start with 2-9, then four digits.
const NANP_E164 = /^\+1([2-9]\d{2})[2-9]\d{6}$/;

/** '+14155551234' -> '415'; undefined for a number outside +1 or not a well-formed NANP E.164 number. */
export function areaCodeOf(phone: string): string | undefined {
  return NANP_E164.exec(phone)?.[1];
}

/** Where an E.164 number's area code is; undefined when malformed, outside +1, non-geographic or unassigned. */
export function areaCodeLocation(phone: string): AreaCodeLocation | undefined {
  const areaCode = areaCodeOf(phone);
  const entry = areaCode === undefined ? undefined : BY_AREA_CODE.get(areaCode);
  if (areaCode === undefined || entry === undefined) return undefined;
  return { areaCode, region: entry.regions[0] ?? '', country: entry.country, timeZones: [...entry.timeZones] };
}

/** The IANA zones of a US state, DC, US territory or Canadian province or territory code ('FL'), sorted; [] if unknown. */
export function timeZonesOfRegion(region: string): string[] {
  return [...(ZONES_BY_REGION.get(region.trim().toUpperCase()) ?? [])].sort();
}
