import { DEFAULT_ACCOUNT_PROFILE, type AccountProfile } from '../../workflows/domain/settings';

/** The account the tests speak for. */
export const TEST_PROFILE: AccountProfile = { ...DEFAULT_ACCOUNT_PROFILE, businessName: 'Acme Dental' };
