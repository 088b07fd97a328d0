/** Builds the worker that hosts the contact actor and its activities on one task queue. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../client/config';
import type { SmsProvider } from '../activities/providers/provider';
import type { ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import type { AccountProfile } from '../workflows/domain/settings';

export interface ConsentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: Pool;
  provider: SmsProvider;
  profile: AccountProfile;
  /** a client on the same cluster, for the outbound-send activity's canSend query */
  client: Client;
  /** a prebuilt bundle (tests build one per run); otherwise the workflows are bundled at start */
  workflowBundlePath?: string;
  identity?: string;
  tuning?: ConsentWorkerTuning;
  /** consent-rules.md §9: the account's quiet-hours settings (default: the statutes' windows, promotional only) */
  clock?: ComplianceClockSettings;
}

/** The worker settings an operator (or the benchmark) may tune; everything else is fixed by the code. */
export type ConsentWorkerTuning = Pick<
  WorkerOptions,
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'workflowTaskPollerBehavior'
  | 'activityTaskPollerBehavior'
  | 'shutdownGraceTime'
>;

/**
 * The tuning a worker gets unless told otherwise, stated so `npm run bench` can print what it ran with (README,
 * Performance). The slots are the SDK's own defaults, kept after benchmarking on 2 cores; the cache is ours: the SDK
 * sizes it from the heap limit (thousands of actors), and a 100,000-row import then grew the worker past 3 GB.
 */
export const DEFAULT_WORKER_TUNING = {
  maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentActivityTaskExecutions: 100,
  maxConcurrentLocalActivityExecutions: 100,
} satisfies ConsentWorkerTuning;

/** `npm run build` writes the workflow bundle here, in dist/: a worker started from dist/ loads it and bundles nothing. */
export const PREBUILT_WORKFLOW_BUNDLE = 'workflow-bundle.js';

/** The bundle beside this compiled file (dist/workflow-bundle.js), when this worker runs from `npm run build`'s output. */
export function prebuiltWorkflowBundle(): string | undefined {
  const bundle = path.join(__dirname, '..', PREBUILT_WORKFLOW_BUNDLE);
  return existsSync(bundle) ? bundle : undefined;
}

/** The workflows folder; the SDK's bundler resolves its index.ts itself (works under tsx and vitest alike). */
export function workflowsPath(): string {
  return path.join(__dirname, '..', 'workflows');
}

/**
 * Stateless modules evaluated once per worker thread and shared by every workflow (the SDK's `preloadModules`),
 * instead of once per workflow execution: zod, configured (workflows/domain/zod.ts says why by path and what
 * sharing it forbids), and the keyword classifier, so its normalised keyword sets are built once per thread. The SDK
 * deep-freezes what a shared module exports. Our schema modules cannot be shared: zod schemas define properties on
 * themselves when first used.
 */
export function preloadedWorkflowModules(): string[] {
  return [path.join(workflowsPath(), 'domain', 'zod'), path.join(workflowsPath(), 'domain', 'keywords')];
}

export async function createConsentWorker(options: ConsentWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, pool, provider, profile, client, workflowBundlePath, identity, tuning, clock } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(identity ? { identity } : {}),
    ...(workflowBundlePath
      ? { workflowBundle: { codePath: workflowBundlePath } }
      : { workflowsPath: workflowsPath(), bundlerOptions: { preloadModules: preloadedWorkflowModules() } }),
    activities: createActivities({ pool, provider, profile, client, clock }),
    // Evicted actors replay from their history when next used.
    ...DEFAULT_WORKER_TUNING,
    ...tuning,
  });
}
