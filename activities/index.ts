/** Every activity the worker registers, built from its dependencies. */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { AccountProfile } from '../workflows/domain/settings';
import { createLedgerActivities } from './ledger';
import { createCampaignActivities } from './campaign';
import { createOutboundSendActivities, createSendGate } from './outbound-send';
import { Campaigns } from './postgres/campaigns';
import { ConsentLedger } from './postgres/ledger';
import { OptOutList } from './postgres/opt-out-list';
import { OutboundMessages } from './postgres/outbound-messages';
import { Programs } from './postgres/programs';
import type { SmsProvider } from './providers/provider';
import { createReplyActivities } from './replies';
import { SuppressionImports } from './postgres/suppression-imports';
import { createSuppressionImportActivities } from './suppression-import';

export interface ActivityDependencies {
  pool: Pool;
  provider: SmsProvider;
  profile: AccountProfile;
  /** the outbound-send activity queries the contact actor through it */
  client: Client;
}

export function createActivities({ pool, provider, profile, client }: ActivityDependencies) {
  const outbox = new OutboundMessages(pool);
  const ledger = new ConsentLedger(pool);
  const optOutList = new OptOutList(pool);
  const gate = createSendGate({ client, outbox, programs: new Programs(pool), provider, profile, ledger, optOutList });
  return {
    ...createLedgerActivities({ ledger, optOutList }),
    ...createReplyActivities({ outbox, provider, profile, ledger, client }),
    ...createOutboundSendActivities({ client, outbox, programs: new Programs(pool), provider, profile, ledger, optOutList }),
    ...createSuppressionImportActivities({ client, imports: new SuppressionImports(pool), optOutList }),
    ...createCampaignActivities({ gate, campaigns: new Campaigns(pool), outbox }),
  };
}
