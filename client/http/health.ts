/** Is every dependency of the service up: Temporal, Postgres, and at least one worker polling the task queue? */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import { SignalBacklog } from '../../activities/postgres/signal-backlog';

/** A poller not seen for this long is gone (the server records pollers for about a minute). */
const WORKER_SEEN_WITHIN_MS = 70_000;
const CHECK_TIMEOUT_MS = 3000;

export interface HealthReport {
  ok: boolean;
  checks: { temporal: string; postgres: string; worker: string };
  /** signals the API kept while Temporal was unreachable, not yet delivered (null: Postgres unreadable); never fails the check */
  signalBacklog: { waiting: number; oldest: string | null } | null;
}

export async function checkHealth(client: Client, pool: Pool, namespace: string, taskQueue: string): Promise<HealthReport> {
  const deadline = () => Date.now() + CHECK_TIMEOUT_MS;
  const [temporalCheck, postgresCheck, workerCheck, backlogCheck] = await Promise.all([
    settle(client.connection.withDeadline(deadline(), () => client.workflowService.getSystemInfo({}))),
    settle(pool.query('SELECT 1')),
    settle(
      client.connection.withDeadline(deadline(), () =>
        client.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      ),
    ),
    settle(new SignalBacklog(pool).depth(taskQueue)),
  ]);
  let worker = workerCheck.error ?? 'no worker is polling the task queue';
  if (workerCheck.value) {
    const now = Date.now();
    const live = (workerCheck.value.pollers ?? []).filter((poller) => {
      const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
      return now - seconds * 1000 < WORKER_SEEN_WITHIN_MS;
    });
    if (live.length > 0) worker = `ok (${live.length} poller${live.length > 1 ? 's' : ''})`;
  }
  const checks = {
    temporal: temporalCheck.error ?? 'ok',
    postgres: postgresCheck.error ?? 'ok',
    worker,
  };
  return { ok: Object.values(checks).every((check) => check.startsWith('ok')), checks, signalBacklog: backlogCheck.value ?? null };
}

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: string }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
