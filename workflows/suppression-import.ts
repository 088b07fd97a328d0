/**
 * A suppression-list import (id `suppression-import:<importId>`): the stored file is read into rows once, then the
 * numbers are opted out in batches through their contact actors (source `suppression-import`, no SMS). Progress is a
 * query; a crash resumes after the last batch that completed, and a retried batch counts each row once.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SuppressionImportActivities } from '../activities/suppression-import';
import type { ContactWorkflowSettings } from './contact';
import { initialImportProgress, type SuppressionImportProgress } from './domain/suppression-import';
import { suppressionImportProgressQuery } from './messages';

export interface SuppressionImportInput {
  importId: string;
  contactSettings?: ContactWorkflowSettings;
  /** carried across continue-as-new */
  progress?: SuppressionImportProgress;
}

/** Rows per batch activity: small enough that a retried batch redoes little, large enough to amortise the round trip. */
const BATCH_ROWS = 500;

const { prepareSuppressionImport } = proxyActivities<SuppressionImportActivities>({
  startToCloseTimeout: '5m',
  retry: { maximumInterval: '30s', nonRetryableErrorTypes: ['UnknownImport', 'InvalidSuppressionFile'] },
});
// A killed worker is noticed by the missing heartbeat within seconds, and the batch runs again elsewhere.
const { applySuppressionBatch } = proxyActivities<SuppressionImportActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry: { maximumInterval: '30s', nonRetryableErrorTypes: ['UnknownImport'] },
});

export async function suppressionImportWorkflow(input: SuppressionImportInput): Promise<SuppressionImportProgress> {
  const progress = input.progress ?? initialImportProgress(input.importId, new Date().toISOString());
  setHandler(suppressionImportProgressQuery, () => progress);
  const show = () =>
    setCurrentDetails(
      `**${progress.status}**: ${progress.rowsRead} rows read, ${progress.optedOut} opted out, ${progress.alreadyOptedOut} already opted out, ` +
        `${progress.duplicates} duplicates, ${progress.invalid} invalid (through line ${progress.appliedThroughLine})`,
    );

  if (progress.status === 'parsing') {
    try {
      Object.assign(progress, await prepareSuppressionImport(input.importId), { status: 'applying' });
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure)) throw error;
      Object.assign(progress, { status: 'failed', error: cause.message, completedAt: new Date().toISOString() });
      show();
      return progress;
    }
    show();
  }
  while (progress.status === 'applying') {
    const batch = await applySuppressionBatch({
      importId: input.importId,
      afterLine: progress.appliedThroughLine,
      limit: BATCH_ROWS,
      contactSettings: input.contactSettings,
    });
    if (batch.rows === 0) {
      Object.assign(progress, { status: 'completed', completedAt: new Date().toISOString() });
    } else {
      progress.optedOut += batch.optedOut;
      progress.alreadyOptedOut += batch.alreadyOptedOut;
      progress.appliedThroughLine = batch.lastLine;
    }
    show();
    if (progress.status === 'applying' && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof suppressionImportWorkflow>({ ...input, progress });
    }
  }
  return progress;
}
