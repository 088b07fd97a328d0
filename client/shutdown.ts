/**
 * SIGTERM (Docker, Kubernetes, systemd) and SIGINT (Ctrl-C) stop a process gracefully: `stop` drains it, then it
 * exits 0. Another signal later while draining exits at once with 1, for an operator who will not wait.
 */
import { loadConfig, type ServiceConfig } from './config';
import { createLogger, type Logger } from './logger';

/**
 * Ctrl-C reaches the process more than once within milliseconds: from the terminal (the whole process group) and
 * relayed by npm and tsx. Signals this close to the first are that one Ctrl-C, not an operator's second.
 */
const SAME_SIGNAL_WINDOW_MS = 1000;

export function stopOnSignals(logger: Logger, what: string, stop: () => Promise<void>): void {
  let startedAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (startedAt !== undefined) {
      if (Date.now() - startedAt < SAME_SIGNAL_WINDOW_MS) return;
      logger.warn({ signal }, `${what}: ${signal} again while draining, exiting without waiting`);
      logger.flush();
      process.exit(1);
    }
    const began = Date.now();
    startedAt = began;
    logger.info({ signal }, `${what}: ${signal} received, draining`);
    stop().then(
      () => {
        logger.info({ signal, drainMs: Date.now() - began }, `${what}: drained, exiting`);
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error, signal }, `${what}: did not stop cleanly`);
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * The entry point of a service process (`npm run worker`, `npm run api`): a configuration error is said plainly on
 * stderr, a failure once the logger exists is logged as fatal (`<name> failed`); either way the process exits 1.
 */
export function runServiceProcess(name: 'api' | 'worker', run: (config: ServiceConfig, logger: Logger) => Promise<void>): void {
  let logger: Logger | undefined;
  const main = async () => {
    const config = loadConfig();
    logger = createLogger(config.env.LOG_LEVEL, name);
    await run(config, logger);
  };
  main().catch((error: unknown) => {
    if (logger) {
      logger.fatal({ err: error }, `${name} failed`);
      logger.flush();
    } else {
      console.error(error instanceof Error ? error.message : error);
    }
    process.exit(1);
  });
}
