/**
 * One of the service's own processes (`npm run worker`, `npm run api`, `npm start`) as an operator or Docker runs it:
 * its JSON log lines collected, its exit awaited, signals sent to the npm process itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import path from 'node:path';

export interface LogLine {
  level: string;
  msg: string;
  name?: string;
  [field: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** every JSON log line so far, parsed */
  lines: LogLine[];
  /** everything written to stdout and stderr, raw */
  output(): string;
  waitForLine(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** resolves when the process has exited, with the time it did */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGTERM now and await the exit; rejects after timeoutMs (the process is then killed) */
  terminate(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; elapsedMs: number }>;
}

const root = path.join(__dirname, '..', '..');

export function startServiceProcess(script: 'worker' | 'api' | 'start' | 'worker:built' | 'api:built', env: Record<string, string>): ServiceProcess {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: root,
    // The test run's own settings must not leak in: only PATH/HOME and what the test gives.
    // QUIET_HOURS_RULES=all-day: as in the harness, a test of something else does not depend on the hour it runs at.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', QUIET_HOURS_RULES: 'all-day', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let raw = '';
  let pending = '';
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString();
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const text of complete) {
      if (!text.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // a non-JSON line (npm, the dev server banner) stays in output() only
      }
    }
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() });
      for (const listener of listeners) listener();
    });
  });
  let exitedYet = false;
  void exited.then(() => (exitedYet = true));

  return {
    child,
    lines,
    output: () => raw,
    exited,
    waitForLine(predicate, what, timeoutMs = 60_000) {
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) return finish(() => resolve(found));
          if (exitedYet) return finish(() => reject(new Error(`process exited before ${what}; output:\n${raw}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${raw}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async terminate(timeoutMs) {
      const sentAt = Date.now();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const { code, signal, at } = await exited;
      clearTimeout(timer);
      const elapsedMs = at - sentAt;
      if (elapsedMs >= timeoutMs) throw new Error(`no exit within ${timeoutMs} ms of SIGTERM (killed); output:\n${raw}`);
      return { code, signal, elapsedMs };
    },
  };
}

/** Resolves when nothing accepts TCP connections on the URL's port any more (ECONNREFUSED). */
export async function refusesConnections(url: string, timeoutMs: number): Promise<number> {
  const { hostname, port } = new URL(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return Date.now();
    if (Date.now() > deadline) throw new Error(`${url} still accepts connections after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP port free right now on 127.0.0.1 (for a listener the child process opens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
