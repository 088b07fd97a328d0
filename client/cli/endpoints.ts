/**
 * Where a running `npm start` can be reached: it writes its Temporal address and database URL to DATA_DIR, so the
 * operator CLI works against it with no configuration. DATABASE_URL and TEMPORAL_ADDRESS, when set, win.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environment } from '../config';

const ENDPOINTS_FILE = 'endpoints.json';

export interface ServiceEndpoints {
  temporalAddress: string;
  databaseUrl: string;
}

export async function writeEndpoints(dataDir: string, endpoints: ServiceEndpoints): Promise<void> {
  await writeFile(path.join(dataDir, ENDPOINTS_FILE), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

export async function resolveEndpoints(env: Environment): Promise<ServiceEndpoints> {
  let written: Partial<ServiceEndpoints> = {};
  try {
    written = JSON.parse(await readFile(path.resolve(env.DATA_DIR, ENDPOINTS_FILE), 'utf8')) as Partial<ServiceEndpoints>;
  } catch {
    // no npm start has run here: the environment must say
  }
  const databaseUrl = env.DATABASE_URL ?? written.databaseUrl;
  if (!databaseUrl) {
    throw new Error(`DATABASE_URL is not set and no running \`npm start\` was found (${path.join(env.DATA_DIR, ENDPOINTS_FILE)})`);
  }
  return { temporalAddress: env.TEMPORAL_ADDRESS ?? written.temporalAddress ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`, databaseUrl };
}
