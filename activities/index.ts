/** Every activity the worker registers, built from its dependencies. */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import type { AccountProfile } from '../workflows/domain/settings';
import { ContactLocations } from './postgres/contact-locations';
import { createLedgerActivities } from './ledger';
import { createCampaignActivities } from './campaign';
import { createEventDeliveryActivities } from './event-delivery';
import { createOutboundSendActivities, createSendGate } from './outbound-send';
import { Campaigns } from './postgres/campaigns';
import { ConsentLedger } from './postgres/ledger';
import { EventSubscriptions } from './postgres/event-subscriptions';
import { OptOutList } from './postgres/opt-out-list';
import { OutboundMessages } from './postgres/outbound-messages';
import { Programs } from './postgres/programs';
import type { SmsProvider } from './providers/provider';
import { createReplyActivities } from './replies';
import { SignalBacklog } from './postgres/signal-backlog';
import { SuppressionImports } from './postgres/suppression-imports';
import { createSuppressionImportActivities } from './suppression-import';

export interface ActivityDependencies {
  pool: Pool;
  provider: SmsProvider;
  profile: AccountProfile;
  /** the outbound-send activity queries the contact actor through it */
  client: Client;
  /** consent-rules.md §9: the account's quiet-hours settings (tests move the windows) */
  clock?: ComplianceClockSettings;
}

export function createActivities({ pool, provider, profile, client, clock }: ActivityDependencies) {
  const outbox = new OutboundMessages(pool);
  const ledger = new ConsentLedger(pool);
  const optOutList = new OptOutList(pool);
  const programs = new Programs(pool);
  const sending = { client, outbox, programs, provider, profile, ledger, optOutList, locations: new ContactLocations(pool), backlog: new SignalBacklog(pool), clock };
  const gate = createSendGate(sending);
  return {
    ...createLedgerActivities({ ledger, optOutList }),
    ...createReplyActivities({ outbox, provider, profile, ledger, client, programs }),
    ...createOutboundSendActivities(sending),
    ...createSuppressionImportActivities({ client, imports: new SuppressionImports(pool), optOutList }),
    ...createCampaignActivities({ gate, campaigns: new Campaigns(pool), outbox, ledger }),
    ...createEventDeliveryActivities({ subscriptions: new EventSubscriptions(pool) }),
  };
}
