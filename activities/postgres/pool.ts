/** One pg pool per process; an idle-client error is logged, never allowed to crash the worker. */
import { Pool } from 'pg';

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max });
  pool.on('error', (error) => {
    console.error(`postgres pool: idle client error: ${error.message}`);
  });
  return pool;
}
