/** Which errors mean a dependency (Temporal, Postgres) is down or overloaded: worth a retry later, not a bug of ours. */
import { isGrpcServiceError } from '@temporalio/client';

/**
 * From the Temporal client: gRPC CANCELLED (1), DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8, the server's rate
 * limits), ABORTED (10) and UNAVAILABLE (14), anywhere in the cause chain: the server is down, unreachable or
 * overloaded, and the same call later may succeed.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (isGrpcServiceError(current) && [1, 4, 8, 10, 14].includes(current.code)) return true;
    if (/Client has encountered a connection error/.test(current.message)) return true;
  }
  return false;
}

/** Connection failures of Postgres or Temporal. */
export function isDependencyUnavailable(error: unknown): boolean {
  if (isTemporalUnavailable(error)) return true;
  for (let current = error; current instanceof Error; current = current.cause) {
    const { code } = current as { code?: unknown };
    // Node's socket errors; Postgres 57P01-03 (shutting down, starting up), 53 (out of resources), 08 (connection)
    if (typeof code === 'string' && (/^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code) || /^(57P0[123]|53...|08...)$/.test(code))) return true;
    if (/Connection terminated|timeout exceeded when trying to connect/.test(current.message)) return true;
  }
  return false;
}
