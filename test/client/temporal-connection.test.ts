/** TEMPORAL_* settings → the options both Connection.connect (client, API) and NativeConnection.connect (worker) take. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../client/config';
import { describeTemporalConnection, temporalConnectionOptions } from '../../client/temporal-connection';

const CERT = '-----BEGIN CERTIFICATE-----\nclient certificate\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nclient private key\n-----END PRIVATE KEY-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nprivate CA\n-----END CERTIFICATE-----\n';
const API_KEY = 'tcld_sk_not_a_real_key_0123456789';

let dir: string;
let files: { cert: string; key: string; ca: string };
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-tls-'));
  files = { cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key'), ca: path.join(dir, 'ca.pem') };
  await Promise.all([writeFile(files.cert, CERT), writeFile(files.key, KEY), writeFile(files.ca, CA)]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const optionsFor = (variables: Record<string, string>) => temporalConnectionOptions(loadConfig(variables).env);

describe('a cluster without TLS', () => {
  it('connects in plaintext to TEMPORAL_ADDRESS', async () => {
    await expect(optionsFor({ TEMPORAL_ADDRESS: 'temporal:7233' })).resolves.toEqual({ address: 'temporal:7233' });
  });

  it('defaults to the dev server port on this machine', async () => {
    await expect(optionsFor({ TEMPORAL_DEV_PORT: '7400' })).resolves.toEqual({ address: '127.0.0.1:7400' });
  });
});

describe('mTLS', () => {
  it('reads the client certificate and key from TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH', async () => {
    const options = await optionsFor({
      TEMPORAL_ADDRESS: 'payments.a1b2c.tmprl.cloud:7233',
      TEMPORAL_TLS_CERT_PATH: files.cert,
      TEMPORAL_TLS_KEY_PATH: files.key,
    });
    expect(options).toEqual({
      address: 'payments.a1b2c.tmprl.cloud:7233',
      tls: { clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) } },
    });
  });

  it('adds the server CA and the server name when given', async () => {
    const options = await optionsFor({
      TEMPORAL_ADDRESS: '10.0.0.5:7233',
      TEMPORAL_TLS_CERT_PATH: files.cert,
      TEMPORAL_TLS_KEY_PATH: files.key,
      TEMPORAL_TLS_CA_PATH: files.ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal.example',
    });
    expect(options.tls).toEqual({
      clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) },
      serverRootCACertificate: Buffer.from(CA),
      serverNameOverride: 'temporal.internal.example',
    });
  });

  it('a missing key file is a configuration error naming TEMPORAL_TLS_KEY_PATH', async () => {
    const missing = path.join(dir, 'nope.key');
    await expect(optionsFor({ TEMPORAL_TLS_CERT_PATH: files.cert, TEMPORAL_TLS_KEY_PATH: missing })).rejects.toThrow(
      `invalid configuration:\n  TEMPORAL_TLS_KEY_PATH: cannot read ${missing} (ENOENT)`,
    );
  });

  it('a missing CA file is a configuration error naming TEMPORAL_TLS_CA_PATH', async () => {
    await expect(optionsFor({ TEMPORAL_TLS_CA_PATH: path.join(dir, 'nope.pem') })).rejects.toThrow(/TEMPORAL_TLS_CA_PATH: cannot read/);
  });

  it('a certificate without its key (or a key without its certificate) is refused at start', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: files.cert })).toThrow(/TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together/);
    expect(() => loadConfig({ TEMPORAL_TLS_KEY_PATH: files.key })).toThrow(/TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together/);
  });
});

describe('Temporal Cloud API key', () => {
  it('TEMPORAL_API_KEY turns TLS on and is passed as the SDK apiKey, with the namespace header', async () => {
    const options = await optionsFor({
      TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'payments.a1b2c',
      TEMPORAL_API_KEY: API_KEY,
    });
    expect(options).toEqual({
      address: 'us-east-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: API_KEY,
      metadata: { 'temporal-namespace': 'payments.a1b2c' },
    });
  });

  it('goes with a client certificate too', async () => {
    const options = await optionsFor({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CERT_PATH: files.cert, TEMPORAL_TLS_KEY_PATH: files.key });
    expect(options).toMatchObject({ apiKey: API_KEY, tls: { clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) } } });
  });

  it('TEMPORAL_TLS=false with an API key is refused: the key would go out in clear text', () => {
    expect(() => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY })).toThrow(/TEMPORAL_TLS=false contradicts/);
  });
});

it('TEMPORAL_TLS=true alone: TLS with the system trust store, no client certificate', async () => {
  await expect(optionsFor({ TEMPORAL_ADDRESS: 'temporal.example:443', TEMPORAL_TLS: 'true' })).resolves.toEqual({
    address: 'temporal.example:443',
    tls: true,
  });
});

it('the same options object suits the client and the worker connection', async () => {
  const options = await optionsFor({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CERT_PATH: files.cert, TEMPORAL_TLS_KEY_PATH: files.key });
  // Compile-time: both SDK option types accept it.
  const client: ConnectionOptions = options;
  const worker: NativeConnectionOptions = options;
  expect(client).toBe(worker);
});

it('what a log line says about the connection names how it authenticates, never the key or the private key', async () => {
  const options = await optionsFor({
    TEMPORAL_ADDRESS: 'payments.a1b2c.tmprl.cloud:7233',
    TEMPORAL_API_KEY: API_KEY,
    TEMPORAL_TLS_CERT_PATH: files.cert,
    TEMPORAL_TLS_KEY_PATH: files.key,
  });
  const description = describeTemporalConnection(options);
  expect(description).toBe('payments.a1b2c.tmprl.cloud:7233 (TLS, mTLS client certificate, API key)');
  expect(description).not.toContain(API_KEY);
  expect(describeTemporalConnection({ address: 'temporal:7233' })).toBe('temporal:7233 (plaintext)');
});
