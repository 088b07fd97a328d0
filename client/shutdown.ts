/**
 * SIGTERM (Docker, Kubernetes, systemd) and SIGINT (Ctrl-C) stop a process gracefully: `stop` drains it, then it
 * exits 0. A second signal while draining exits at once with 1, for an operator who will not wait.
 */
import type { Logger } from './logger';

export function stopOnSignals(logger: Logger, what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, `${what}: second ${signal}, exiting without draining`);
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    const startedAt = Date.now();
    logger.info({ signal }, `${what}: ${signal} received, draining`);
    stop().then(
      () => {
        logger.info({ signal, drainMs: Date.now() - startedAt }, `${what}: drained, exiting`);
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
