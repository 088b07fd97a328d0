/** Declared messaging programs (consent-rules.md §6): business name, description, frequency. */
import type { Pool } from 'pg';
import type { MessageType } from '../../workflows/domain/schemas';

export interface Program {
  id: string;
  businessName: string;
  description: string;
  frequency: string;
  /** the message types quiet hours apply to (consent-rules.md §9; transactional and conversational are exempt by default) */
  quietHoursTypes: MessageType[];
  /** whether a consent to it is confirmed by text (CTIA Messaging Principles 5.1.2.1) */
  optInConfirmation: boolean;
}

const PROGRAM_COLUMNS = `id, business_name AS "businessName", description, frequency, quiet_hours_types AS "quietHoursTypes",
  opt_in_confirmation AS "optInConfirmation"`;

export class Programs {
  constructor(private readonly pool: Pool) {}

  async upsert(program: Program): Promise<Program> {
    await this.pool.query(
      `INSERT INTO programs (id, business_name, description, frequency, quiet_hours_types, opt_in_confirmation) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET business_name = EXCLUDED.business_name, description = EXCLUDED.description,
         frequency = EXCLUDED.frequency, quiet_hours_types = EXCLUDED.quiet_hours_types,
         opt_in_confirmation = EXCLUDED.opt_in_confirmation, updated_at = now()`,
      [program.id, program.businessName, program.description, program.frequency, program.quietHoursTypes, program.optInConfirmation],
    );
    return program;
  }

  async get(id: string): Promise<Program | undefined> {
    const { rows } = await this.pool.query<Program>(
      `SELECT ${PROGRAM_COLUMNS} FROM programs WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async list(): Promise<Program[]> {
    const { rows } = await this.pool.query<Program>(
      `SELECT ${PROGRAM_COLUMNS} FROM programs ORDER BY id`,
    );
    return rows;
  }
}
