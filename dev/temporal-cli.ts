import path from 'node:path';
import { cachedExecutables, executableName, findOnPath, GO_EXECUTABLE, type GoInstall, goInstallOnce, isExecutableFile, sharedCacheDir } from './go-install';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';

const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const TEMPORAL_EXECUTABLE = executableName('temporal');

/** `${XDG_CACHE_HOME ?? ~/.cache}/sms-consent-engine/temporal-<version>`: shared by every checkout on this machine. */
export function temporalCliCacheDir(): string {
  return sharedCacheDir(`temporal-${TEMPORAL_CLI_VERSION}`);
}

function temporalCliInstall(): GoInstall {
  return {
    what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    packages: [`${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`],
    cacheDir: temporalCliCacheDir(),
    executables: { temporal: TEMPORAL_EXECUTABLE },
  };
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

  const install = temporalCliInstall();
  const cached = await cachedExecutables(install);
  if (cached) return cached[TEMPORAL_EXECUTABLE];

  const go = await findOnPath(GO_EXECUTABLE);
  if (!go) return undefined;
  return (await goInstallOnce(go, install, log))[TEMPORAL_EXECUTABLE];
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
