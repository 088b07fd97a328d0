/** Activities of the evidence ledger: the contact actor appends its events and, on a new run, reads its opt-out back. */
import type { OptOutRecord } from '../workflows/domain/contact-state';
import type { LedgerEntry } from '../workflows/domain/ledger';
import type { ConsentLedger } from './postgres/ledger';
import { toOptOutRecord, type OptOutList } from './postgres/opt-out-list';

export interface LedgerDependencies {
  ledger: ConsentLedger;
  optOutList: OptOutList;
}

export function createLedgerActivities({ ledger, optOutList }: LedgerDependencies) {
  return {
    /** Entries are keyed by the actor, so a retry after a crash appends nothing twice. */
    async appendLedgerEntries(entries: LedgerEntry[]): Promise<{ inserted: number }> {
      return ledger.append(entries);
    },

    /** The opt-out in force for this contact on the list, if any: a new actor run must not start as subscribed. */
    async loadOptOut(phone: string): Promise<OptOutRecord | null> {
      const entry = await optOutList.get(phone);
      return entry ? toOptOutRecord(entry) : null;
    },
  };
}

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;
