/** A suppression-list import's progress (consent-rules.md §7), queryable while it runs and returned when it ends. Pure. */

export type SuppressionImportStatus = 'parsing' | 'applying' | 'completed' | 'failed';

export interface SuppressionImportProgress {
  importId: string;
  status: SuppressionImportStatus;
  /** data rows in the file: blank lines and the header row are not rows */
  rowsRead: number;
  /** distinct valid numbers (each is opted out or already was) */
  valid: number;
  /** rows repeating a number an earlier line already had: counted, not applied twice */
  duplicates: number;
  /** rows that are not a number in E.164, reported by line with the reason */
  invalid: number;
  /** valid numbers this import opted out */
  optedOut: number;
  /** valid numbers whose opt-out was already in force (by STOP, an operator, or an earlier import) */
  alreadyOptedOut: number;
  /** the last file line applied: the next batch starts after it */
  appliedThroughLine: number;
  startedAt: string;
  completedAt: string | null;
  /** why the file could not be read at all (status failed) */
  error: string | null;
}

export function initialImportProgress(importId: string, startedAt: string): SuppressionImportProgress {
  return {
    importId,
    status: 'parsing',
    rowsRead: 0,
    valid: 0,
    duplicates: 0,
    invalid: 0,
    optedOut: 0,
    alreadyOptedOut: 0,
    appliedThroughLine: 0,
    startedAt,
    completedAt: null,
    error: null,
  };
}

export function suppressionImportWorkflowId(importId: string): string {
  return `suppression-import:${importId}`;
}
