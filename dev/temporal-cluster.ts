/**
 * A production-shaped Temporal for the tests: the Temporal server v1.29.1 (the server the CLI's dev server embeds),
 * built once from the Go module proxy, on Postgres persistence with SQL visibility, its schemas applied by the
 * server's own temporal-sql-tool, the `default` namespace and the project's search attributes registered with the
 * Temporal CLI as an operator would. `npm run test:cluster` runs the suite on it; `npm run temporal:build-server`
 * only builds it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { CONTACT_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { dropDatabase, ensureDatabase } from './postgres';
import { executableName, findOnPath, formatDuration, GO_EXECUTABLE, type GoInstall, cachedExecutables, goInstallOnce, sharedCacheDir } from './go-install';
import { resolveTemporalCli } from './temporal-cli';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
// The names the server's own Makefile gives them.
const SERVER_EXECUTABLE = executableName('temporal-server');
const SQL_TOOL_EXECUTABLE = executableName('temporal-sql-tool');
// Schemas embedded in temporal-sql-tool: the module's schema/postgresql/v12/{temporal,visibility}.
const PERSISTENCE_SCHEMA = 'postgresql/v12/temporal';
const VISIBILITY_SCHEMA = 'postgresql/v12/visibility';
// Few shards for a test cluster; the count is fixed for the life of a cluster (its databases).
const HISTORY_SHARDS = 4;
// The single process runs four services, each with its own pools: at most 4 × (10 + 5) connections, which leaves
// room in a default max_connections of 100 for the tests' own pools and a second run.
const PERSISTENCE_MAX_CONNS = 10;
const VISIBILITY_MAX_CONNS = 5;
// What temporalio/auto-setup gives the `default` namespace.
const DEFAULT_NAMESPACE_RETENTION = '24h';
// Each service refreshes its namespace cache on its own timer (system.namespaceCacheRefreshInterval, 2 s by
// default): once the frontend answers with the new attributes, the history service (which checks upserts) may be a
// refresh behind.
const NAMESPACE_CACHE_SETTLE_MS = 5_000;
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const POLL_MS = 500;
const LOG_TAIL_LINES = 25;
// Below the kernel's ephemeral ports, and above most services' well-known ones.
const PORT_RANGE = { first: 20_000, last: 32_767 };
// A port picked free can be taken before the server binds it; a fresh set of ports usually settles that.
const START_ATTEMPTS = 3;

const execFileAsync = promisify(execFile);

/** How the CLI names each search attribute type, and a literal of it for the visibility query that checks it. */
const SEARCH_ATTRIBUTE_TYPES: Record<SearchAttributeType, { cli: string; literal: string }> = {
  [SearchAttributeType.TEXT]: { cli: 'Text', literal: "'registered'" },
  [SearchAttributeType.KEYWORD]: { cli: 'Keyword', literal: "'registered'" },
  [SearchAttributeType.INT]: { cli: 'Int', literal: '0' },
  [SearchAttributeType.DOUBLE]: { cli: 'Double', literal: '0' },
  [SearchAttributeType.BOOL]: { cli: 'Bool', literal: 'true' },
  [SearchAttributeType.DATETIME]: { cli: 'Datetime', literal: "'2000-01-01T00:00:00Z'" },
  [SearchAttributeType.KEYWORD_LIST]: { cli: 'KeywordList', literal: "'registered'" },
};

export interface TemporalClusterOptions {
  /** a Postgres server URL (ensurePostgresServer's); the cluster's two databases are created on it and dropped at stop */
  postgresUrl: string;
  namespace?: string;
  log?: (message: string) => void;
}

export interface TemporalCluster {
  address: string;
  namespace: string;
  /** the server's log (JSON lines), in a temp dir; kept after stop() */
  logFile: string;
  /** where the start-up time went */
  startup: string;
  stop(): Promise<void>;
}

/** `${XDG_CACHE_HOME ?? ~/.cache}/sms-consent-engine/temporal-server-<version>`: shared by every checkout on this machine. */
export function temporalServerCacheDir(): string {
  return sharedCacheDir(`temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

function temporalServerInstall(): GoInstall {
  return {
    what: `the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool`,
    packages: [
      `${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
      `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
    ],
    cacheDir: temporalServerCacheDir(),
    executables: { server: SERVER_EXECUTABLE, sql: SQL_TOOL_EXECUTABLE },
  };
}

/** Finds (or builds once) temporal-server and temporal-sql-tool. Unlike the CLI there is no download to fall back on. */
export async function resolveTemporalServer(
  log: (message: string) => void = console.error,
): Promise<{ server: string; sqlTool: string }> {
  const install = temporalServerInstall();
  let binaries = await cachedExecutables(install);
  if (!binaries) {
    const go = await findOnPath(GO_EXECUTABLE);
    if (!go) throw new Error(`The Temporal server ${TEMPORAL_SERVER_VERSION} is built with Go, and \`go\` is not on PATH.`);
    binaries = await goInstallOnce(go, install, log);
  }
  return { server: binaries[SERVER_EXECUTABLE]!, sqlTool: binaries[SQL_TOOL_EXECUTABLE]! };
}

/** Starts a Temporal server on fresh Postgres databases; resolves once the namespace and search attributes are usable. */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? console.error;
  const namespace = options.namespace ?? 'default';
  const [binaries, cli] = await Promise.all([resolveTemporalServer(log), resolveTemporalCli(log)]);
  if (!cli) throw new Error('The Temporal CLI registers the namespace and search attributes, and none was found or built.');

  const startedAt = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const cluster = await startOnce({ ...binaries, cli, postgresUrl: options.postgresUrl, namespace, log });
      log(`Temporal server ${TEMPORAL_SERVER_VERSION} (Postgres) ready at ${cluster.address} in ${formatDuration(Date.now() - startedAt)} (${cluster.startup}); log: ${cluster.logFile}`);
      return cluster;
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === START_ATTEMPTS) throw error;
      log(`A port picked for the Temporal server was taken before it bound it; starting again on others.`);
    }
  }
}

class PortTakenError extends Error {}

interface StartContext {
  server: string;
  sqlTool: string;
  cli: string;
  postgresUrl: string;
  namespace: string;
  log: (message: string) => void;
}

async function startOnce(context: StartContext): Promise<TemporalCluster> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sms-consent-temporal-cluster-'));
  const logFile = path.join(scratch, 'temporal-server.log');
  const databaseBase = `temporal_test_${Date.now()}_${process.pid}`;
  const databases = { persistence: databaseBase, visibility: `${databaseBase}_visibility` };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const dropEverything = async () => {
    if (child) await stopProcess(child, exited);
    await Promise.all(Object.values(databases).map((name) => dropDatabase(context.postgresUrl, name)));
  };

  // Where start-up time goes, for the ready line: a production-shaped server is slower to start than the dev server.
  const phases: string[] = [];
  let phaseStartedAt = Date.now();
  const phaseDone = (name: string) => {
    phases.push(`${name} ${((Date.now() - phaseStartedAt) / 1000).toFixed(1)} s`);
    phaseStartedAt = Date.now();
  };

  try {
    const postgres = postgresEndpoint(context.postgresUrl);
    await Promise.all([
      createSchema(context, postgres, databases.persistence, PERSISTENCE_SCHEMA, logFile),
      createSchema(context, postgres, databases.visibility, VISIBILITY_SCHEMA, logFile),
    ]);
    phaseDone('schemas');

    const ports = await freePorts();
    const address = `127.0.0.1:${ports.frontend}`;
    const configDir = path.join(scratch, 'config');
    await mkdir(configDir);
    await writeFile(path.join(configDir, 'test.yaml'), serverConfig({ postgres, databases, ports }));

    const logHandle = await open(logFile, 'a');
    child = spawn(context.server, ['--root', scratch, '--config', 'config', '--env', 'test', '--allow-no-auth', 'start'], {
      stdio: ['ignore', logHandle.fd, logHandle.fd],
    });
    await logHandle.close();
    const running = child;
    // A host that exits without calling stop() (a crashed test run) must not leave the server running behind it.
    const killOnExit = () => running.kill('SIGKILL');
    process.once('exit', killOnExit);
    let exitedEarly: string | undefined;
    exited = new Promise((resolve) => {
      running.once('exit', (code, signal) => {
        exitedEarly = signal ? `signal ${signal}` : `exit code ${code}`;
        process.removeListener('exit', killOnExit);
        resolve();
      });
      // Could not be started at all (no 'exit' follows).
      running.once('error', (error) => {
        exitedEarly = error.message;
        resolve();
      });
    });

    const deadline = Date.now() + START_TIMEOUT_MS;
    const stillStarting = () => {
      if (exitedEarly) throw new Error(`the server stopped (${exitedEarly})`);
      if (Date.now() > deadline) throw new Error(`not ready within ${START_TIMEOUT_MS / 1000} s`);
    };
    await registerNamespace(context, address, stillStarting);
    phaseDone('server up and namespace created');
    await registerSearchAttributes(context, address, stillStarting);
    phaseDone('search attributes created');
    await waitUntilSearchAttributesAnswer(address, context.namespace, stillStarting);
    phaseDone('queryable');
    await new Promise((resolve) => setTimeout(resolve, NAMESPACE_CACHE_SETTLE_MS));
    stillStarting();
    phaseDone('settle');

    let stopped = false;
    return {
      address,
      namespace: context.namespace,
      logFile,
      startup: phases.join(', '),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        const diedOnItsOwn = exitedEarly;
        await dropEverything();
        // The log stays (like the fuzz run's process logs): a failed test is read against it after the run.
        await rm(configDir, { recursive: true, force: true });
        if (diedOnItsOwn) context.log(`The Temporal server had stopped on its own (${diedOnItsOwn}) before the end of the run; log: ${logFile}`);
      },
    };
  } catch (error) {
    await dropEverything().catch(() => undefined);
    const tail = await logTail(logFile);
    const reason = error instanceof Error ? error.message : String(error);
    const message = `The Temporal server ${TEMPORAL_SERVER_VERSION} on Postgres did not start: ${reason}. Log: ${logFile}\n${tail}`;
    if (/address already in use/.test(tail)) {
      await rm(scratch, { recursive: true, force: true });
      throw new PortTakenError(message);
    }
    throw new Error(message);
  }
}

interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

function postgresEndpoint(serverUrl: string): PostgresEndpoint {
  const url = new URL(serverUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
}

/** A fresh database, then what temporal-sql-tool's README prescribes: version tables at 0.0, then every versioned/ step. */
async function createSchema(context: StartContext, postgres: PostgresEndpoint, database: string, schema: string, logFile: string): Promise<void> {
  await ensureDatabase(context.postgresUrl, database);
  const connection = ['--endpoint', postgres.host, '--port', String(postgres.port), '--user', postgres.user, '--plugin', 'postgres12', '--database', database];
  // The password goes by environment (SQL_PASSWORD), not argv, where ps would show it.
  const env = { ...process.env, SQL_PASSWORD: postgres.password };
  for (const step of [
    ['setup-schema', '--version', '0.0'],
    ['update-schema', '--schema-name', schema],
  ]) {
    try {
      await execFileAsync(context.sqlTool, [...connection, ...step], { env, timeout: 120_000 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      await writeFile(logFile, `temporal-sql-tool ${step[0]} ${database}:\n${stdout}${stderr}\n`, { flag: 'a' });
      throw new Error(`temporal-sql-tool ${step[0]} on ${database} (${schema}) failed`);
    }
  }
}

/** The server's config, shaped like its config/development-postgres12.yaml, on ports of its own. */
function serverConfig(options: {
  postgres: PostgresEndpoint;
  databases: { persistence: string; visibility: string };
  ports: Record<ServicePort, number>;
}): string {
  const { postgres, databases, ports } = options;
  // JSON strings are YAML strings, quoted and escaped.
  const text = (value: string) => JSON.stringify(value);
  const datastore = (database: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${text(database)}
        connectAddr: ${text(`${postgres.host}:${postgres.port}`)}
        connectProtocol: tcp
        user: ${text(postgres.user)}
        password: ${text(postgres.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => `
    rpc:
      grpcPort: ${grpcPort}
      membershipPort: ${membershipPort}
      bindOnLocalHost: true${httpPort ? `\n      httpPort: ${httpPort}` : ''}`;
  return `# Written by dev/temporal-cluster.ts for one test run.
log:
  stdout: true
  level: info

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${HISTORY_SHARDS}
  datastores:
    postgres-default:${datastore(databases.persistence, PERSISTENCE_MAX_CONNS)}
    postgres-visibility:${datastore(databases.visibility, VISIBILITY_MAX_CONNS)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1

services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:${ports.frontend}
      httpAddress: 127.0.0.1:${ports.frontendHttp}

dcRedirectionPolicy:
  policy: noop

archival:
  history:
    state: disabled
  visibility:
    state: disabled

namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled

publicClient:
  hostPort: 127.0.0.1:${ports.frontend}
`;
}

const SERVICE_PORTS = [
  'frontend',
  'frontendHttp',
  'frontendMembership',
  'history',
  'historyMembership',
  'matching',
  'matchingMembership',
  'worker',
  'workerMembership',
] as const;
type ServicePort = (typeof SERVICE_PORTS)[number];

/**
 * Ports free now, held open together so no two are the same. Picked at random below 32768, not by the kernel:
 * the Postgres schema stores membership ports in a SMALLINT (cluster_membership.rpc_port), and Linux hands out
 * ephemeral ports from 32768 up.
 */
async function freePorts(): Promise<Record<ServicePort, number>> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < SERVICE_PORTS.length) {
      const port = PORT_RANGE.first + Math.floor(Math.random() * (PORT_RANGE.last - PORT_RANGE.first + 1));
      if (ports.includes(port)) continue;
      const server = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!listening) continue;
      held.push(server);
      ports.push(port);
    }
    return Object.fromEntries(SERVICE_PORTS.map((name, index) => [name, ports[index]!])) as Record<ServicePort, number>;
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** `temporal operator namespace create`, as temporalio/auto-setup does, retried while the frontend comes up. */
async function registerNamespace(context: StartContext, address: string, stillStarting: () => void): Promise<void> {
  await retryCli(context, ['operator', 'namespace', 'create', '--namespace', context.namespace, '--retention', DEFAULT_NAMESPACE_RETENTION, '--address', address], stillStarting, {
    alreadyDone: /already exists|already registered/i,
  });
}

/**
 * `temporal operator search-attribute create` with a --type for each --name, paired in order: the CLI silently
 * registers only as many names as it is given types.
 */
async function registerSearchAttributes(context: StartContext, address: string, stillStarting: () => void): Promise<void> {
  const pairs = CONTACT_SEARCH_ATTRIBUTES.flatMap((attribute) => ['--name', attribute.name, '--type', SEARCH_ATTRIBUTE_TYPES[attribute.type].cli]);
  await retryCli(context, ['operator', 'search-attribute', 'create', '--namespace', context.namespace, ...pairs, '--address', address], stillStarting);
}

async function retryCli(
  context: StartContext,
  args: string[],
  stillStarting: () => void,
  options: { alreadyDone?: RegExp } = {},
): Promise<void> {
  for (;;) {
    try {
      await execFileAsync(context.cli, [...args, '--command-timeout', '10s'], { timeout: 20_000 });
      return;
    } catch (error) {
      const { stderr = '', message } = error as { stderr?: string; message: string };
      if (options.alreadyDone?.test(stderr)) return;
      try {
        stillStarting();
      } catch (notStarting) {
        const reason = notStarting instanceof Error ? notStarting.message : String(notStarting);
        throw new Error(`${reason}; last \`temporal ${args.slice(0, 3).join(' ')}\`: ${stderr.trim() || message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

/**
 * Until the frontend accepts a visibility query naming every attribute: only then do workflow starts carrying them
 * pass (the attributes live in the namespace's metadata, which each service caches).
 */
async function waitUntilSearchAttributesAnswer(address: string, namespace: string, stillStarting: () => void): Promise<void> {
  const query = CONTACT_SEARCH_ATTRIBUTES.map((attribute) => `${attribute.name} = ${SEARCH_ATTRIBUTE_TYPES[attribute.type].literal}`).join(' AND ');
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    for (;;) {
      try {
        await client.workflow.count(query);
        return;
      } catch (error) {
        try {
          stillStarting();
        } catch (notStarting) {
          const reason = notStarting instanceof Error ? notStarting.message : String(notStarting);
          throw new Error(`${reason}; the search attributes were registered but a query on them still fails: ${describeError(error)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } finally {
    await connection.close();
  }
}

/** The SDK's message with the server's own (its cause): "Failed to count workflows" alone says nothing. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message}: ${cause}` : error.message;
}

/** SIGTERM (the server stops its services in order), SIGKILL if that takes too long. */
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The log's last lines, each server line (JSON) shortened to its level, message and error: stack traces drown the cause. */
async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text
    .trimEnd()
    .split('\n')
    .slice(-LOG_TAIL_LINES)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `${entry.level ?? ''} ${entry.msg ?? ''}${entry.error ? `: ${entry.error}` : ''}`;
      } catch {
        return line;
      }
    })
    .join('\n');
}

if (require.main === module) {
  resolveTemporalServer().then(
    ({ server, sqlTool }) => console.log(`${server}\n${sqlTool}`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
