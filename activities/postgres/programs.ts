/** Declared messaging programs (consent-rules.md §6): business name, description, frequency. */
import type { Pool } from 'pg';

export interface Program {
  id: string;
  businessName: string;
  description: string;
  frequency: string;
}

export class Programs {
  constructor(private readonly pool: Pool) {}

  async upsert(program: Program): Promise<Program> {
    await this.pool.query(
      `INSERT INTO programs (id, business_name, description, frequency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET business_name = EXCLUDED.business_name, description = EXCLUDED.description,
         frequency = EXCLUDED.frequency, updated_at = now()`,
      [program.id, program.businessName, program.description, program.frequency],
    );
    return program;
  }

  async get(id: string): Promise<Program | undefined> {
    const { rows } = await this.pool.query<Program>(
      `SELECT id, business_name AS "businessName", description, frequency FROM programs WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async list(): Promise<Program[]> {
    const { rows } = await this.pool.query<Program>(
      `SELECT id, business_name AS "businessName", description, frequency FROM programs ORDER BY id`,
    );
    return rows;
  }
}
