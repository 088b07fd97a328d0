/**
 * Distinct, valid US numbers for a run. Each run starts at a random point of a large space, so runs against a
 * long-lived server (TEMPORAL_ADDRESS) rarely meet an earlier run's contacts; the embedded server starts empty.
 */
import { randomInt } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

// Long-established geographic area codes: every exchange 200–999 but N11 and 555 is valid in each.
const AREA_CODES = [
  '201', '202', '203', '205', '206', '207', '208', '209', '210', '212', '213', '214', '215', '216', '217', '218',
  '219', '224', '225', '228', '229', '231', '234', '239', '240', '248', '251', '252', '253', '254', '256', '260',
  '262', '267', '269', '270', '281', '301', '302', '303', '304', '305', '307', '308', '309', '310', '312', '313',
  '314', '315', '316', '317', '318', '319', '320', '321', '323', '330', '334', '336', '337', '347', '352', '360',
  '361', '401', '402', '404', '405', '406', '407', '408', '409', '410', '412', '413', '414', '415', '417', '419',
];

export class PhoneNumbers {
  private next: number;
  private readonly space = AREA_CODES.length * 800 * 10_000;
  /** each area code's own walk (takeInAreaCode), from its own random point */
  private readonly nextInArea = new Map<string, number>();
  /** every number handed out, so the two walks never hand out the same one */
  private readonly handedOut = new Set<string>();

  constructor(start = randomInt(0, 2 ** 40)) {
    this.next = start % this.space;
  }

  /** `count` numbers never handed out before by this generator. */
  take(count: number): string[] {
    const numbers: string[] = [];
    while (numbers.length < count) {
      const index = this.next;
      this.next = (this.next + 1) % this.space;
      const phone = this.accept(AREA_CODES[Math.floor(index / 8_000_000)]!, index);
      if (phone) numbers.push(phone);
    }
    return numbers;
  }

  /** `count` numbers of one area code (e.g. 305, Florida: its state rules apply), never handed out before by this generator. */
  takeInAreaCode(area: string, count: number): string[] {
    if (!/^[2-9]\d\d$/.test(area)) throw new Error(`${area} is not an area code`);
    const numbers: string[] = [];
    let index = this.nextInArea.get(area) ?? randomInt(0, 8_000_000);
    for (let tried = 0; numbers.length < count; tried++) {
      if (tried >= 8_000_000) throw new Error(`area code ${area} has fewer than ${count} numbers left`);
      const phone = this.accept(area, index);
      index = (index + 1) % 8_000_000;
      if (phone) numbers.push(phone);
    }
    this.nextInArea.set(area, index);
    return numbers;
  }

  /** The index's number in this area code, if valid and not handed out yet (then it is, now). */
  private accept(area: string, index: number): string | undefined {
    const line = index % 10_000;
    const exchange = 200 + (Math.floor(index / 10_000) % 800);
    if (exchange === 555 || exchange % 100 === 11) return undefined;
    const phone = `+1${area}${exchange}${String(line).padStart(4, '0')}`;
    if (this.handedOut.has(phone)) return undefined;
    // Cheap enough (a few µs) to check every one rather than trust the list above.
    if (!parsePhoneNumberFromString(phone)?.isValid()) return undefined;
    this.handedOut.add(phone);
    return phone;
  }
}
