import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';

const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const TEMPORAL_EXECUTABLE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
const GO_EXECUTABLE = process.platform === 'win32' ? 'go.exe' : 'go';
// A build that has held the lock this long is assumed dead (killed mid-build), not slow.
const STALE_BUILD_LOCK_MS = 20 * 60_000;
const BUILD_LOCK_POLL_MS = 2_000;
const GO_ERROR_TAIL_LINES = 30;

/** `${XDG_CACHE_HOME ?? ~/.cache}/sms-consent-engine/temporal-<version>`: shared by every checkout on this machine. */
export function temporalCliCacheDir(): string {
  // The XDG spec treats an empty XDG_CACHE_HOME as unset.
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cacheHome, 'sms-consent-engine', `temporal-${TEMPORAL_CLI_VERSION}`);
}

/**
 * Finds (or builds once) the Temporal CLI binary. Returns its absolute path, or undefined when none can be
 * found or built (caller then lets @temporalio/testing download one).
 */
export async function resolveTemporalCli(log: (message: string) => void = console.error): Promise<string | undefined> {
  const configured = process.env.TEMPORAL_CLI;
  if (configured) {
    const configuredPath = path.resolve(configured);
    if (!(await isExecutableFile(configuredPath))) {
      throw new Error(`TEMPORAL_CLI is set to "${configured}", but that is not an executable file.`);
    }
    return configuredPath;
  }

  const onPath = await findOnPath(TEMPORAL_EXECUTABLE);
  if (onPath) return onPath;

  const cacheDir = temporalCliCacheDir();
  const cached = path.join(cacheDir, TEMPORAL_EXECUTABLE);
  if (await isExecutableFile(cached)) return cached;

  const go = await findOnPath(GO_EXECUTABLE);
  if (!go) return undefined;
  return buildTemporalCli(go, cacheDir, log);
}

async function buildTemporalCli(go: string, cacheDir: string, log: (message: string) => void): Promise<string> {
  const target = path.join(cacheDir, TEMPORAL_EXECUTABLE);
  await mkdir(cacheDir, { recursive: true });
  const lockDir = path.join(cacheDir, 'build.lock');
  await acquireBuildLock(lockDir, log);
  try {
    // Another process may have finished the build while we waited for its lock.
    if (await isExecutableFile(target)) return target;

    await removeAbandonedBuildDirs(cacheDir);
    const buildDir = await mkdtemp(path.join(cacheDir, 'gobin-'));
    try {
      log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy (first run only, takes a few minutes)…`);
      const startedAt = Date.now();
      await runGoInstall(go, buildDir, log);
      // Rename within one directory is atomic, so the cache path never holds a half-written binary.
      await rename(path.join(buildDir, TEMPORAL_EXECUTABLE), target);
      log(`Built the Temporal CLI ${TEMPORAL_CLI_VERSION} in ${formatDuration(Date.now() - startedAt)}: ${target}`);
      return target;
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** mkdir is atomic, so exactly one process builds; the others wait for it, then find its binary. */
async function acquireBuildLock(lockDir: string, log: (message: string) => void): Promise<void> {
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
      log(`Removing a stale Temporal CLI build lock (${formatDuration(lockAgeMs)} old): ${lockDir}`);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announcedWait) {
      log(`Waiting for another process to finish building the Temporal CLI (lock: ${lockDir})…`);
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
function runGoInstall(go: string, gobin: string, log: (message: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
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
      reject(
        new Error(
          `go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed ` +
            `(${signal ? `signal ${signal}` : `exit code ${code}`}):\n${stderrTail}`,
        ),
      );
    });
  });
}

/** Scans PATH ourselves rather than shelling out to `which`, which is not everywhere. */
async function findOnPath(executable: string): Promise<string | undefined> {
  const directories = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const directory of directories) {
    const candidate = path.resolve(directory, executable);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
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

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

if (require.main === module) {
  resolveTemporalCli().then(
    (temporalCli) => {
      if (!temporalCli) {
        console.error(
          `No Temporal CLI found: set TEMPORAL_CLI, put \`temporal\` on PATH, or install Go to build ${TEMPORAL_CLI_VERSION} once.`,
        );
        process.exit(1);
      }
      console.log(temporalCli);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
