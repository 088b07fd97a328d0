/** Database faults injected into the worker's pool (HarnessOptions.wrapWorkerPool), for outage tests. */
import type { Pool, PoolClient } from 'pg';

/**
 * Runs every query of the pool's checked-out clients (pool.connect(): the ledger's transactions) through an
 * interceptor made for that client, which decides whether and how the query runs; pool.query() is left alone.
 */
export function interceptCheckedOutQueries(
  pool: Pool,
  interceptorForClient: () => (text: unknown, run: () => Promise<unknown>) => Promise<unknown>,
): Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'connect') return Reflect.get(target, property, receiver);
      return async (...args: unknown[]) => {
        // pool.query() calls connect(callback) internally: only the promise form is wrapped.
        if (args.length > 0) return (target.connect as (...a: unknown[]) => unknown)(...args);
        const client: PoolClient = await target.connect();
        const intercept = interceptorForClient();
        return new Proxy(client, {
          get(inner, name, innerReceiver) {
            if (name !== 'query') return Reflect.get(inner, name, innerReceiver);
            return (text: unknown, ...rest: unknown[]) => intercept(text, () => (inner.query as (...a: unknown[]) => Promise<unknown>)(text, ...rest));
          },
        });
      };
    },
  });
}

/**
 * A pool whose checked-out clients fail each query for which `fault` returns an error, before it runs. The switch
 * is the caller's: `fault` is asked at every query.
 */
export function failCheckedOutQueries(pool: Pool, fault: (text: string) => Error | undefined): Pool {
  return interceptCheckedOutQueries(pool, () => async (text, run) => {
    const error = typeof text === 'string' ? fault(text) : undefined;
    if (error) throw error;
    return run();
  });
}

/** What a Postgres shutting down under a session says (57P01): retryable, not the data's fault. */
export function adminShutdownError(): Error {
  return Object.assign(new Error('terminating connection due to administrator command (injected)'), { code: '57P01' });
}
