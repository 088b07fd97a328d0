import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { dropDatabase, ensureDatabase, ensurePostgresServer } from '../../dev/postgres';

async function query<Row extends Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function databaseCount(serverUrl: string, name: string): Promise<number> {
  const rows = await query<{ count: string }>(serverUrl, 'SELECT count(*) FROM pg_database WHERE datname = $1', [name]);
  return Number(rows[0]?.count);
}

describe('dev Postgres', () => {
  it('ensureDatabase creates a database once even when two callers race, and dropDatabase removes it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dev-postgres-'));
    const server = await ensurePostgresServer({ dataDir, log: () => {} });
    const name = `dev_postgres_test_${process.pid}_${Date.now()}`;
    try {
      const [first, second] = await Promise.all([ensureDatabase(server.url, name), ensureDatabase(server.url, name)]);
      expect(first).toBe(second);
      expect(await databaseCount(server.url, name)).toBe(1);
      const rows = await query<{ current_database: string }>(first, 'SELECT current_database()');
      expect(rows[0]?.current_database).toBe(name);

      await dropDatabase(server.url, name);
      expect(await databaseCount(server.url, name)).toBe(0);
    } finally {
      await dropDatabase(server.url, name).catch(() => {});
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses database names it would have to quote around', async () => {
    await expect(ensureDatabase('postgres://unused@127.0.0.1:1/postgres', 'Robert"; DROP')).rejects.toThrow(
      /Invalid database name/,
    );
  });

  it('starts an embedded Postgres when no local server may be used, and stop() shuts it down', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dev-postgres-embedded-'));
    try {
      const server = await ensurePostgresServer({ dataDir, allowLocal: false, log: () => {} });
      try {
        expect(server.origin).toBe('embedded');
        const rows = await query<{ version: string }>(server.url, 'SELECT version()');
        expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
      } finally {
        await server.stop();
      }
      await expect(query(server.url, 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
