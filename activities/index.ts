/** Every activity the worker registers, built from its dependencies. */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { AccountProfile } from '../workflows/domain/settings';
import { createOutboundSendActivities } from './outbound-send';
import { OutboundMessages } from './postgres/outbound-messages';
import { Programs } from './postgres/programs';
import type { SmsProvider } from './providers/provider';
import { createReplyActivities } from './replies';

export interface ActivityDependencies {
  pool: Pool;
  provider: SmsProvider;
  profile: AccountProfile;
  /** the outbound-send activity queries the contact actor through it */
  client: Client;
}

export function createActivities({ pool, provider, profile, client }: ActivityDependencies) {
  const outbox = new OutboundMessages(pool);
  return {
    ...createReplyActivities({ outbox, provider, profile }),
    ...createOutboundSendActivities({ client, outbox, programs: new Programs(pool), provider, profile }),
  };
}
