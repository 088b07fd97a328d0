/**
 * Go programs the tests run (the Temporal CLI, the Temporal server and its SQL tool), built once per machine with
 * `go install` from the Go module proxy into `${XDG_CACHE_HOME ?? ~/.cache}/sms-consent-engine/`, shared by every
 * checkout, and built by one process at a time.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface GoInstall {
  /** for log lines: "the Temporal CLI v1.5.1" */
  what: string;
  /** `module/cmd/name@version`, all of one module version, built in one `go install` */
  packages: string[];
  cacheDir: string;
  /** the name `go install` gives each executable → its name in cacheDir */
  executables: Record<string, string>;
}

export const GO_EXECUTABLE = process.platform === 'win32' ? 'go.exe' : 'go';
// A build that has held the lock this long is assumed dead (killed mid-build), not slow.
const STALE_BUILD_LOCK_MS = 20 * 60_000;
const BUILD_LOCK_POLL_MS = 2_000;
const GO_ERROR_TAIL_LINES = 30;

/** `${XDG_CACHE_HOME ?? ~/.cache}/sms-consent-engine/<name>`: shared by every checkout on this machine. */
export function sharedCacheDir(name: string): string {
  // The XDG spec treats an empty XDG_CACHE_HOME as unset.
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cacheHome, 'sms-consent-engine', name);
}

/** The cached executables by their cache name, or undefined while any of them is missing. */
export async function cachedExecutables(install: GoInstall): Promise<Record<string, string> | undefined> {
  const found: Record<string, string> = {};
  for (const name of Object.values(install.executables)) {
    const file = path.join(install.cacheDir, name);
    if (!(await isExecutableFile(file))) return undefined;
    found[name] = file;
  }
  return found;
}

/** Builds the executables into the cache unless they are there (or another process builds them meanwhile). */
export async function goInstallOnce(go: string, install: GoInstall, log: (message: string) => void): Promise<Record<string, string>> {
  await mkdir(install.cacheDir, { recursive: true });
  const lockDir = path.join(install.cacheDir, 'build.lock');
  await acquireBuildLock(lockDir, install.what, log);
  try {
    // Another process may have finished the build while we waited for its lock.
    const cached = await cachedExecutables(install);
    if (cached) return cached;

    await removeAbandonedBuildDirs(install.cacheDir);
    const buildDir = await mkdtemp(path.join(install.cacheDir, 'gobin-'));
    try {
      log(`Building ${install.what} from the Go module proxy (first run only, takes a few minutes)…`);
      const startedAt = Date.now();
      await runGoInstall(go, install.packages, buildDir, log);
      for (const [built, name] of Object.entries(install.executables)) {
        // Rename within one directory is atomic, so the cache path never holds a half-written binary.
        await rename(path.join(buildDir, executableName(built)), path.join(install.cacheDir, name));
      }
      log(`Built ${install.what} in ${formatDuration(Date.now() - startedAt)}: ${install.cacheDir}`);
      const built = await cachedExecutables(install);
      if (!built) throw new Error(`go install finished but ${install.what} is missing from ${install.cacheDir}`);
      return built;
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** mkdir is atomic, so exactly one process builds; the others wait for it, then find its binaries. */
async function acquireBuildLock(lockDir: string, what: string, log: (message: string) => void): Promise<void> {
  let announcedWait = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      return;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const lockAgeMs = await stat(lockDir).then(
      (lock) => Date.now() - lock.mtimeMs,
      () => 0, // released between our mkdir and stat: just retry
    );
    if (lockAgeMs > STALE_BUILD_LOCK_MS) {
      log(`Removing a stale build lock for ${what} (${formatDuration(lockAgeMs)} old): ${lockDir}`);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announcedWait) {
      log(`Waiting for another process to finish building ${what} (lock: ${lockDir})…`);
      announcedWait = true;
    }
    await new Promise((resolve) => setTimeout(resolve, BUILD_LOCK_POLL_MS));
  }
}

/** Temporary GOBIN dirs left by builds that were killed; safe to remove only while holding the lock. */
async function removeAbandonedBuildDirs(cacheDir: string): Promise<void> {
  const entries = await readdir(cacheDir);
  await Promise.all(
    entries
      .filter((entry) => entry.startsWith('gobin-'))
      .map((entry) => rm(path.join(cacheDir, entry), { recursive: true, force: true })),
  );
}

/** Runs `go install` quietly; its output is only worth reading when it fails. */
function runGoInstall(go: string, packages: string[], gobin: string, log: (message: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', ...packages], {
      cwd: gobin, // outside any go.mod, so the project's module settings cannot interfere
      env: { ...process.env, GOBIN: gobin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const output = `${stdout}${stderr}`.trimEnd();
      if (output) log(output);
      const stderrTail = stderr.trimEnd().split('\n').slice(-GO_ERROR_TAIL_LINES).join('\n');
      reject(new Error(`go install ${packages.join(' ')} failed (${signal ? `signal ${signal}` : `exit code ${code}`}):\n${stderrTail}`));
    });
  });
}

export function executableName(name: string): string {
  return process.platform === 'win32' ? `${name}.exe` : name;
}

/** Scans PATH ourselves rather than shelling out to `which`, which is not everywhere. */
export async function findOnPath(executable: string): Promise<string | undefined> {
  const directories = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const directory of directories) {
    const candidate = path.resolve(directory, executable);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}
