/**
 * Where a running `npm start` can be reached: it writes its Temporal address and database URL to DATA_DIR, so the
 * operator CLI works against it with no configuration. DATABASE_URL and TEMPORAL_ADDRESS, when set, win.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environment, ServiceEndpoints } from '../config';
import { temporalConnectionOptions } from '../temporal-connection';
import { ConfigurationError } from './failures';

const ENDPOINTS_FILE = 'endpoints.json';

/** What `npm start` writes: a local dev setup, plaintext and without secrets beyond the local database's. */
interface WrittenEndpoints {
  temporalAddress: string;
  databaseUrl: string;
}

export async function writeEndpoints(dataDir: string, endpoints: WrittenEndpoints): Promise<void> {
  await writeFile(path.join(dataDir, ENDPOINTS_FILE), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

/** Where each endpoint came from, for a message that names the setting to fix. */
export interface EndpointSources {
  databaseUrl: string;
  temporalAddress: string;
}

export async function resolveEndpoints(env: Environment): Promise<ServiceEndpoints & { sources: EndpointSources }> {
  const file = path.join(env.DATA_DIR, ENDPOINTS_FILE);
  let written: Partial<WrittenEndpoints> = {};
  try {
    written = JSON.parse(await readFile(path.resolve(file), 'utf8')) as Partial<WrittenEndpoints>;
  } catch {
    // no npm start has run here: the environment must say
  }
  const databaseUrl = env.DATABASE_URL ?? written.databaseUrl;
  if (!databaseUrl) {
    throw new ConfigurationError([{ variable: 'DATABASE_URL', message: `is not set and no running \`npm start\` was found (${file})` }]);
  }
  // TEMPORAL_ADDRESS (with its TLS settings) wins; else the dev server npm start ran.
  const fromFile = !env.TEMPORAL_ADDRESS && Boolean(written.temporalAddress);
  const temporal = fromFile ? { address: written.temporalAddress! } : await temporalConnectionOptions(env);
  const sources = {
    databaseUrl: env.DATABASE_URL ? 'DATABASE_URL' : `databaseUrl in ${file}`,
    temporalAddress: fromFile ? `temporalAddress in ${file}` : env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'TEMPORAL_DEV_PORT',
  };
  return { temporal, databaseUrl, sources };
}
