/** Search attributes the contact actor keeps current, so operators can find contacts in the Web UI and CLI. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const optedOutAttribute = defineSearchAttributeKey('OptedOut', SearchAttributeType.BOOL);
export const needsReviewAttribute = defineSearchAttributeKey('NeedsReview', SearchAttributeType.BOOL);
export const contactPhoneAttribute = defineSearchAttributeKey('ContactPhone', SearchAttributeType.KEYWORD);
export const optOutSourceAttribute = defineSearchAttributeKey('OptOutSource', SearchAttributeType.KEYWORD);

/** Registered with the dev server (`--search-attribute`), the test cluster (dev/temporal-cluster.ts) and in docker-compose. */
export const CONTACT_SEARCH_ATTRIBUTES = [
  optedOutAttribute,
  needsReviewAttribute,
  contactPhoneAttribute,
  optOutSourceAttribute,
];
