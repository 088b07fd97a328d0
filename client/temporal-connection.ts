/**
 * How every process reaches Temporal: one set of options, valid for the client's `Connection.connect` and the worker's
 * `NativeConnection.connect`, built from TEMPORAL_ADDRESS, TEMPORAL_TLS_* and TEMPORAL_API_KEY.
 */
import { readFile } from 'node:fs/promises';
import type { TLSConfig } from '@temporalio/client';
import type { Environment } from './config';

export interface TemporalConnectionOptions {
  address: string;
  /** absent: plaintext (the dev server, a cluster inside a private network) */
  tls?: TLSConfig | true;
  /** Temporal Cloud API key, sent as `Authorization: Bearer …`; never logged */
  apiKey?: string;
  metadata?: Record<string, string>;
}

type TlsEnvironment = Pick<
  Environment,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_DEV_PORT'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CERT_PATH'
  | 'TEMPORAL_TLS_KEY_PATH'
  | 'TEMPORAL_TLS_CA_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

/** TEMPORAL_ADDRESS, else the dev server's port on this machine. Reads the certificate files; a missing one is a config error naming its variable. */
export async function temporalConnectionOptions(env: TlsEnvironment): Promise<TemporalConnectionOptions> {
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  const tlsWanted =
    env.TEMPORAL_TLS === 'true' ||
    Boolean(env.TEMPORAL_TLS_CERT_PATH || env.TEMPORAL_TLS_KEY_PATH || env.TEMPORAL_TLS_CA_PATH || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY);
  if (!tlsWanted) return { address };

  const tls: TLSConfig = {};
  if (env.TEMPORAL_TLS_CERT_PATH || env.TEMPORAL_TLS_KEY_PATH) {
    if (!env.TEMPORAL_TLS_CERT_PATH || !env.TEMPORAL_TLS_KEY_PATH) {
      throw new Error('invalid configuration:\n  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (the mTLS client certificate and its key)');
    }
    tls.clientCertPair = {
      crt: await readSetting('TEMPORAL_TLS_CERT_PATH', env.TEMPORAL_TLS_CERT_PATH),
      key: await readSetting('TEMPORAL_TLS_KEY_PATH', env.TEMPORAL_TLS_KEY_PATH),
    };
  }
  if (env.TEMPORAL_TLS_CA_PATH) tls.serverRootCACertificate = await readSetting('TEMPORAL_TLS_CA_PATH', env.TEMPORAL_TLS_CA_PATH);
  if (env.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME;

  return {
    address,
    // `true`: TLS with the system's trusted roots and no client certificate (Temporal Cloud with an API key).
    tls: Object.keys(tls).length > 0 ? tls : true,
    ...(env.TEMPORAL_API_KEY
      ? {
          apiKey: env.TEMPORAL_API_KEY,
          // Temporal Cloud routes API-key requests on its regional endpoints by this header (its templates set it).
          metadata: { 'temporal-namespace': env.TEMPORAL_NAMESPACE },
        }
      : {}),
  };
}

/** What a log line may say about a connection: where, and how it authenticates — never the key or the certificate. */
export function describeTemporalConnection(options: TemporalConnectionOptions): string {
  if (!options.tls) return `${options.address} (plaintext)`;
  const how = [
    typeof options.tls === 'object' && options.tls.clientCertPair ? 'mTLS client certificate' : undefined,
    options.apiKey ? 'API key' : undefined,
    typeof options.tls === 'object' && options.tls.serverRootCACertificate ? 'own CA' : undefined,
    typeof options.tls === 'object' && options.tls.serverNameOverride ? `server name ${options.tls.serverNameOverride}` : undefined,
  ].filter(Boolean);
  return `${options.address} (TLS${how.length > 0 ? `, ${how.join(', ')}` : ''})`;
}

async function readSetting(variable: string, filePath: string): Promise<Buffer> {
  try {
    return await readFile(filePath);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new Error(`invalid configuration:\n  ${variable}: cannot read ${filePath} (${code ?? message})`);
  }
}

/** Runs a connect call; a failure says where it tried to connect and how (the SDK's own message is often only a transport error). */
export async function connectTo<T>(options: TemporalConnectionOptions, connect: (options: TemporalConnectionOptions) => Promise<T>): Promise<T> {
  try {
    return await connect(options);
  } catch (error) {
    throw new Error(`cannot connect to Temporal at ${describeTemporalConnection(options)}: ${(error as Error).message}`, { cause: error });
  }
}
