/**
 * CPU time per process and per thread, from /proc, so a scenario can say where its time went: the worker's main
 * thread (activities, gRPC), its workflow thread (the sandboxed workflow code), the Rust core, the dev server,
 * Postgres backends on the bench database, and the driver itself.
 */
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface CpuSnapshot {
  /** CPU seconds by "process/thread" name */
  seconds: Map<string, number>;
}

/** utime + stime of /proc/<pid>[/task/<tid>]/stat, in seconds; the name is the second field (comm). */
async function readStat(path: string): Promise<{ name: string; seconds: number } | undefined> {
  const stat = await readFile(path, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const close = stat.lastIndexOf(')');
  const name = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is state (field 3); utime and stime are fields 14 and 15.
  return { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** Threads grouped by name (tokio workers share one), for one process. */
async function threadsOf(pid: number, label: string, into: Map<string, number>): Promise<void> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tasks) {
    const stat = await readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    const key = `${label}/${Number(tid) === pid ? 'main thread' : threadGroup(stat.name)}`;
    into.set(key, (into.get(key) ?? 0) + stat.seconds);
  }
}

/** Linux thread names (comm): Node's worker threads (the workflow sandbox) keep the name "node". */
function threadGroup(name: string): string {
  if (name === 'node') return 'worker threads (workflow sandbox)';
  if (/^tokio/i.test(name)) return 'rust core (tokio)';
  return name;
}

export interface CpuTargets {
  worker?: number;
  server?: number;
  /** Postgres backends whose command line names this database */
  postgresDatabase?: string;
}

export async function snapshotCpu(targets: CpuTargets): Promise<CpuSnapshot> {
  const seconds = new Map<string, number>();
  if (targets.worker) await threadsOf(targets.worker, 'worker', seconds);
  if (targets.server) {
    const stat = await readStat(`/proc/${targets.server}/stat`);
    if (stat) seconds.set('temporal dev server', stat.seconds);
  }
  const driver = await readStat(`/proc/${process.pid}/stat`);
  if (driver) seconds.set('driver (this process)', driver.seconds);
  if (targets.postgresDatabase) {
    let total = 0;
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (!commandLine.startsWith('postgres:') || !commandLine.includes(targets.postgresDatabase)) continue;
      total += (await readStat(`/proc/${entry}/stat`))?.seconds ?? 0;
    }
    seconds.set('postgres (bench database backends)', total);
  }
  return { seconds };
}

/** CPU seconds spent between two snapshots, largest first; threads that did nothing are left out. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): { name: string; seconds: number }[] {
  return [...after.seconds]
    .map(([name, seconds]) => ({ name, seconds: seconds - (before.seconds.get(name) ?? 0) }))
    .filter((entry) => entry.seconds >= 0.05)
    .sort((a, b) => b.seconds - a.seconds);
}
