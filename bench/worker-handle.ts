/** The driver's side of bench/worker-process.ts: start it, read its memory and status, stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchWorkerConfig } from './worker-process';

export interface WorkerMemory {
  /** the highest resident set size seen by sampling VmRSS, MiB */
  sampledPeakRssMiB: number;
  /** the kernel's own high-water mark (VmHWM) for the process's life, MiB */
  vmHwmMiB: number;
}

export interface BenchWorker {
  pid: number;
  config: BenchWorkerConfig;
  /** starts sampling VmRSS every `intervalMs` from now; returns the peak since then */
  sampleMemory(intervalMs?: number): { stop(): Promise<WorkerMemory> };
  status(): Promise<unknown>;
  stop(): Promise<void>;
}

/** `nodeArgs`: e.g. `--cpu-prof --cpu-prof-dir=…` to profile the worker while a scenario runs. */
export async function startBenchWorker(config: BenchWorkerConfig, nodeArgs: string[] = []): Promise<BenchWorker> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(__dirname, 'worker-process.ts')], {
    env: { ...process.env, BENCH_WORKER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`bench worker exited before it was ready (${code ?? signal})`)));
  });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return {
    pid,
    config,
    sampleMemory(intervalMs = 200) {
      let peakKiB = 0;
      const sample = async () => {
        const rss = await readStatusField(pid, 'VmRSS');
        if (rss !== undefined) peakKiB = Math.max(peakKiB, rss);
      };
      void sample();
      const timer = setInterval(() => void sample(), intervalMs);
      return {
        async stop() {
          clearInterval(timer);
          await sample();
          const hwm = (await readStatusField(pid, 'VmHWM')) ?? 0;
          return { sampledPeakRssMiB: peakKiB / 1024, vmHwmMiB: hwm / 1024 };
        },
      };
    },
    status() {
      return new Promise((resolve) => {
        const onMessage = (message: { type?: string }) => {
          if (message.type !== 'status') return;
          child.off('message', onMessage);
          resolve(message);
        };
        child.on('message', onMessage);
        child.send({ type: 'status' });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

/** One `Name:   123 kB` line of /proc/<pid>/status, in KiB. */
async function readStatusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const match = status?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : undefined;
}
