/** Every activity the worker registers, built from its dependencies. */
import type { Pool } from 'pg';
import type { AccountProfile } from '../workflows/domain/settings';
import { OutboundMessages } from './postgres/outbound-messages';
import type { SmsProvider } from './providers/provider';
import { createReplyActivities } from './replies';

export interface ActivityDependencies {
  pool: Pool;
  provider: SmsProvider;
  profile: AccountProfile;
}

export function createActivities({ pool, provider, profile }: ActivityDependencies) {
  return {
    ...createReplyActivities({ outbox: new OutboundMessages(pool), provider, profile }),
  };
}
