/**
 * A command's connection to the service: the ConsentClient over Temporal and Postgres, with each dependency the
 * command needs reached first, so one that is down is named in one line (exit 1) before any work starts.
 */
import { Client, type Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { createPool } from '../../activities/postgres/pool';
import type { ServiceConfig } from '../config';
import { ConsentClient } from '../consent-client';
import { describeTemporalConnection } from '../temporal-connection';
import { cliEndpoints, lazyTemporalConnection } from './configuration';
import { DependencyError, errorMessage } from './failures';

/** As long as the SDK's own connect deadline: a dependency that does not answer in this time is down. */
const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;

export interface Needs {
  temporal: boolean;
  postgres: boolean;
}

/** Host, port and database, never the password. */
function describeDatabase(url: string): string {
  try {
    const { hostname, port, pathname } = new URL(url);
    return `${hostname}${port ? `:${port}` : ''}${pathname}`;
  } catch {
    return 'its socket';
  }
}

async function reachPostgres(pool: Pool, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([pool.query('SELECT 1'), timeout]);
  } catch (error) {
    throw new DependencyError('Postgres', `cannot connect to ${describeDatabase(url)}: ${errorMessage(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

async function reachTemporal(connection: Connection, description: string): Promise<void> {
  try {
    await connection.ensureConnected();
  } catch (error) {
    throw new DependencyError('Temporal', `cannot connect to ${description}: ${errorMessage(error)}`, { cause: error });
  }
}

/** One connection per command run, closed when the command ends. */
export async function withConsentClient<T>(config: ServiceConfig, needs: Needs, run: (consent: ConsentClient) => Promise<T>): Promise<T> {
  const { env, keywords } = config;
  const { temporal, databaseUrl, sources } = await cliEndpoints(config);
  // No I/O until a dependency is reached: a command that needs only one never waits on the other.
  const connection = lazyTemporalConnection(temporal, sources.temporalAddress);
  const pool = createPool(databaseUrl, 2);
  try {
    if (needs.postgres) await reachPostgres(pool, databaseUrl);
    if (needs.temporal) await reachTemporal(connection, describeTemporalConnection(temporal));
    const consent = new ConsentClient({
      client: new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }),
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      pool,
      defaultCountry: env.DEFAULT_COUNTRY,
      sendDecisionTimeoutMs: env.SEND_DECISION_TIMEOUT_MS,
      workflowSettings: { keywords, continueAsNewAfterEvents: env.CONTACT_CONTINUE_AS_NEW_AFTER_EVENTS },
    });
    return await run(consent);
  } finally {
    // A dependency that never answered may hold its connect attempt open: closing waits on it only briefly.
    const closed = Promise.allSettled([connection.close(), pool.end()]);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
  }
}
