/**
 * One pg pool per process. A dropped connection (a Postgres restart: FATAL 57P01) is an error for the query in
 * flight to retry, never a process exit: every client, idle or checked out, has an error listener.
 */
import { Pool, type PoolClient } from 'pg';

const CONNECT_TIMEOUT_MS = 5000;

export function createPool(connectionString: string, max = 10): Pool {
  // A server that does not answer (a host gone, not a port refused) fails the attempt in seconds, for its retry.
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', (error) => {
    console.error(`postgres pool: idle client error: ${error.message}`);
  });
  // The pool's own listener covers idle clients only; it is removed while a client is checked out (pool.connect()),
  // and an 'error' event with no listener ends the process.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      console.error(`postgres pool: client error: ${error.message}`);
    });
  });
  return pool;
}

/**
 * Runs `run` in one transaction on a checked-out client: COMMIT when it resolves, ROLLBACK when it throws. A client
 * whose connection broke is not given back to the pool.
 */
export async function inTransaction<T>(pool: Pool, run: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    await client.query('BEGIN');
    result = await run(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(error instanceof Error ? error : undefined);
    throw error;
  }
  client.release();
  return result;
}
