/**
 * The Temporal SDK's process-wide Runtime for a process that hosts a worker: its logs (TypeScript side, Rust core,
 * workflow and activity context loggers) go to our pino logger, and its metrics to Prometheus when asked for.
 * `Runtime.install` works once per process, before any connection: call this first.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Environment } from '../client/config';
import type { Logger } from '../client/logger';

const SDK_LOG_LEVELS: Record<Environment['LOG_LEVEL'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

const PINO_METHODS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

export function installWorkerRuntime(env: Pick<Environment, 'LOG_LEVEL' | 'METRICS_BIND_ADDRESS'>, logger: Logger): Runtime {
  const level = SDK_LOG_LEVELS[env.LOG_LEVEL];
  const sdkLogger = logger.child({ component: 'temporal' });
  return Runtime.install({
    // Activity log lines carry workflowId, activityType, attempt…; workflow lines carry workflowId and runId.
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      // The task token completes the activity from outside: a capability, not something to ship to a log store.
      const { taskToken: _taskToken, ...fields } = meta ?? {};
      sdkLogger[PINO_METHODS[entryLevel]](fields, message);
    }),
    telemetryOptions: {
      // Core's own INFO lines are per-poller chatter; below INFO (debug, trace) they follow LOG_LEVEL.
      logging: { filter: { core: level === 'INFO' ? 'WARN' : level, other: 'ERROR' }, forward: {} },
      ...(env.METRICS_BIND_ADDRESS ? { metrics: { prometheus: { bindAddress: env.METRICS_BIND_ADDRESS } } } : {}),
    },
    // The process drains on SIGTERM/SIGINT itself (client/shutdown.ts), so it can log it and close the rest in order.
    shutdownSignals: [],
  });
}
