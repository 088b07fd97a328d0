/**
 * The CLI's configuration: the service's own (client/config.ts) and where its dependencies are, checked before
 * anything is connected so a bad setting exits 2 naming its variable, even while Temporal and Postgres are down.
 */
import { Connection } from '@temporalio/client';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { Client as PostgresClient } from 'pg';
import { loadConfig, type ServiceConfig, type ServiceEndpoints } from '../config';
import { temporalConnectionOptions } from '../temporal-connection';
import { ConfigurationError, errorMessage } from './failures';
import { resolveEndpoints, type EndpointSources } from './endpoints';

/** client/config.ts says `invalid configuration:` and then one `  VARIABLE: why` line per problem. */
function toConfigurationError(error: unknown): unknown {
  if (error instanceof ConfigurationError || !(error instanceof Error) || !error.message.startsWith('invalid configuration:')) return error;
  const lines = error.message.split('\n').slice(1).map((line) => line.trim()).filter((line) => line.length > 0);
  return new ConfigurationError(
    lines.map((line) => {
      const match = /^([A-Z][A-Z0-9_]*): (.*)$/.exec(line);
      return match ? { variable: match[1]!, message: match[2]! } : { variable: '', message: line };
    }),
  );
}

/** loadConfig, and what it does not check yet but the CLI depends on: a country libphonenumber knows. */
export function loadCliConfig(): ServiceConfig {
  let config: ServiceConfig;
  try {
    config = loadConfig();
  } catch (error) {
    throw toConfigurationError(error);
  }
  const country = config.env.DEFAULT_COUNTRY;
  // Unknown to libphonenumber, every national number would be refused as "not a phone number", blaming the number.
  if (!isSupportedCountry(country)) {
    throw new ConfigurationError([{ variable: 'DEFAULT_COUNTRY', message: `"${country}" is not a country code libphonenumber knows (ISO 3166-1 alpha-2, e.g. US)` }]);
  }
  return config;
}

/** A URL pg can connect with; never echoed, since it holds the database password. */
export function checkDatabaseUrl(url: string, source: string): void {
  const why = 'must be a postgres:// URL such as postgres://user:password@host:5432/database';
  if (!/^(postgres(ql)?:\/\/|socket:|\/)/i.test(url)) throw new ConfigurationError([{ variable: source, message: why }]);
  try {
    // pg parses the URL when a client is made, without connecting.
    new PostgresClient({ connectionString: url });
  } catch (error) {
    throw new ConfigurationError([{ variable: source, message: `${why} (${errorMessage(error)})` }]);
  }
}

/** A connection with no I/O yet; the SDK refuses an address it cannot use (a scheme, no host, a port that is not a number). */
export function lazyTemporalConnection(temporal: ServiceEndpoints['temporal'], source: string): Connection {
  try {
    return Connection.lazy(temporal);
  } catch (error) {
    if (error instanceof TypeError) throw new ConfigurationError([{ variable: source, message: error.message }]);
    throw error;
  }
}

/** The endpoints of a command that talks to the service: the environment's, else those of a running `npm start`. */
export async function cliEndpoints(config: ServiceConfig): Promise<ServiceEndpoints & { sources: EndpointSources }> {
  let endpoints: ServiceEndpoints & { sources: EndpointSources };
  try {
    endpoints = await resolveEndpoints(config.env);
  } catch (error) {
    throw toConfigurationError(error);
  }
  checkDatabaseUrl(endpoints.databaseUrl, endpoints.sources.databaseUrl);
  return endpoints;
}

/** Before `worker`, `serve` or `dev` starts its process: the configuration it would refuse, said here in one line. */
export async function checkProcessConfig(config: ServiceConfig, role: 'worker' | 'API' | 'dev'): Promise<void> {
  const { env } = config;
  if (env.DATABASE_URL) checkDatabaseUrl(env.DATABASE_URL, 'DATABASE_URL');
  // dev starts (or finds) its own Postgres; the worker and the API alone need to be told (config.ts standaloneEndpoints).
  else if (role !== 'dev') throw new ConfigurationError([{ variable: 'DATABASE_URL', message: `is required to run the ${role} on its own (npm start provides one)` }]);
  let temporal: ServiceEndpoints['temporal'];
  try {
    temporal = await temporalConnectionOptions(env);
  } catch (error) {
    throw toConfigurationError(error);
  }
  await lazyTemporalConnection(temporal, env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'TEMPORAL_DEV_PORT').close();
}
