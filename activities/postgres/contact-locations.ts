/** A state or time zone recorded with a contact's consent (consent-rules.md §9): it overrides the area code's. */
import type { Pool } from 'pg';
import type { RecordedLocation } from '../../workflows/domain/compliance-clock';

export interface ContactLocation extends RecordedLocation {
  contact: string;
  recordedAt: string;
  /** what recorded it: the consent source kind (web_form, paper_form, …) */
  source: string;
}

export class ContactLocations {
  constructor(private readonly pool: Pool) {}

  /** The latest consent's location wins; an older one arriving late does not replace it. */
  async record(location: ContactLocation): Promise<void> {
    await this.pool.query(
      `INSERT INTO contact_locations (contact, region, time_zone, recorded_at, source) VALUES ($1, $2, $3, $4::timestamptz, $5)
       ON CONFLICT (contact) DO UPDATE SET region = EXCLUDED.region, time_zone = EXCLUDED.time_zone,
         recorded_at = EXCLUDED.recorded_at, source = EXCLUDED.source, updated_at = now()
       WHERE contact_locations.recorded_at <= EXCLUDED.recorded_at`,
      [location.contact, location.region ?? null, location.timeZone ?? null, location.recordedAt, location.source],
    );
  }

  async get(contact: string): Promise<RecordedLocation | undefined> {
    const { rows } = await this.pool.query<{ region: string | null; timeZone: string | null }>(
      `SELECT region, time_zone AS "timeZone" FROM contact_locations WHERE contact = $1`,
      [contact],
    );
    return rows[0];
  }
}
