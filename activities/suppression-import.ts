/**
 * The suppression import's activities: read the stored file into rows once, then opt out a batch of numbers at a
 * time through each contact's actor (an update, so each answer says whether this import opted it out).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { contactWorkflow, type ContactWorkflowSettings } from '../workflows/contact';
import { contactStartOptions } from '../workflows/contact-start';
import { applyOptOutUpdate } from '../workflows/messages';
import type { OptOutList } from './postgres/opt-out-list';
import type { AppliedOutcome, SuppressionImports } from './postgres/suppression-imports';
import { parseSuppressionList, SuppressionFileError } from './suppression/csv';

export interface PreparedImport {
  rowsRead: number;
  valid: number;
  duplicates: number;
  invalid: number;
}

export interface ApplyBatchRequest {
  importId: string;
  afterLine: number;
  limit: number;
  /** the settings a contact's actor starts with when the import is its first event */
  contactSettings?: ContactWorkflowSettings;
}

export interface AppliedBatch {
  /** rows in this batch; 0: nothing left */
  rows: number;
  lastLine: number;
  optedOut: number;
  alreadyOptedOut: number;
}

/** Updates in flight at once per batch: enough to keep the server busy, few enough not to starve replies. */
const UPDATE_CONCURRENCY = 32;

export interface SuppressionImportDependencies {
  client: Client;
  imports: SuppressionImports;
  optOutList: OptOutList;
}

export function createSuppressionImportActivities({ client, imports, optOutList }: SuppressionImportDependencies) {
  return {
    async prepareSuppressionImport(importId: string): Promise<PreparedImport> {
      const file = await imports.get(importId);
      if (!file) throw ApplicationFailure.nonRetryable(`suppression import ${importId} has no stored file`, 'UnknownImport');
      let parsed;
      try {
        parsed = parseSuppressionList(file.content, file.phoneColumn ?? undefined);
      } catch (error) {
        if (error instanceof SuppressionFileError) throw ApplicationFailure.nonRetryable(error.message, 'InvalidSuppressionFile');
        throw error;
      }
      await imports.saveRows(importId, parsed.rows);
      const count = (outcome: string) => parsed.rows.filter((row) => row.outcome === outcome).length;
      return { rowsRead: parsed.rows.length, valid: count('pending'), duplicates: count('duplicate'), invalid: count('invalid') };
    },

    async applySuppressionBatch({ importId, afterLine, limit, contactSettings }: ApplyBatchRequest): Promise<AppliedBatch> {
      const context = Context.current();
      const file = await imports.describe(importId);
      if (!file) throw ApplicationFailure.nonRetryable(`suppression import ${importId} has no stored file`, 'UnknownImport');
      const rows = await imports.validRowsAfter(importId, afterLine, limit);
      const outcomes = new Map<number, AppliedOutcome>();
      const pending = rows.filter((row) => row.outcome === 'pending');
      // One read of the opt-out list for the batch: an actor started here need not read its own entry.
      const listed = await optOutList.entries(pending.map((row) => row.phone));
      let next = 0;
      const applyNext = async (): Promise<void> => {
        while (next < pending.length) {
          const row = pending[next++]!;
          const result = await client.workflow.executeUpdateWithStart(applyOptOutUpdate, {
            args: [
              {
                source: 'suppression-import',
                at: new Date().toISOString(),
                businessNumber: null,
                recordedBy: file.recordedBy,
                reference: importId,
                note: file.fileName ? `imported from ${file.fileName}` : null,
              },
            ],
            startWorkflowOperation: new WithStartWorkflowOperation(contactWorkflow, {
              ...contactStartOptions(row.phone, context.info.taskQueue, contactSettings, listed.get(row.phone) ?? null),
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          });
          outcomes.set(row.line, result.outcome);
          context.heartbeat(outcomes.size);
        }
      };
      await Promise.all(Array.from({ length: Math.min(UPDATE_CONCURRENCY, pending.length) }, applyNext));
      await imports.recordOutcomes(importId, [...outcomes].map(([line, outcome]) => ({ line, outcome })));
      // Rows a crashed attempt already stored count as stored; the rest as this attempt found them.
      const final = rows.map((row) => outcomes.get(row.line) ?? row.outcome);
      return {
        rows: rows.length,
        lastLine: rows.at(-1)?.line ?? afterLine,
        optedOut: final.filter((outcome) => outcome === 'opted_out').length,
        alreadyOptedOut: final.filter((outcome) => outcome === 'already_opted_out').length,
      };
    },
  };
}

export type SuppressionImportActivities = ReturnType<typeof createSuppressionImportActivities>;
