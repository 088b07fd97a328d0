/** Consent evidence and business numbers the scenarios share. */
import type { ConsentClient } from '../client/consent-client';
import { timedPool } from './stats';

export const BUSINESS_NUMBER = '+14155550100';

/** A web form that meets consent-rules.md §5: an unchecked box, the consent text shown, when and from where. */
export const WEB_FORM_EVIDENCE = {
  kind: 'web_form',
  formUrl: 'https://bench.example/signup',
  consentText: 'I agree to receive texts from Example Co',
  checkboxPrechecked: false,
  submittedAt: '2026-11-01T10:00:00Z',
  ipAddress: '203.0.113.7',
} as const;

/** Express written consent for transactional and promotional texts, then one canSend each until the actor answers. */
export async function contactsWithConsent(consent: ConsentClient, phones: string[], concurrency = 16): Promise<void> {
  await timedPool(phones, concurrency, (phone) =>
    consent.recordConsent({ phone, type: 'express_written', source: WEB_FORM_EVIDENCE, messageTypes: ['transactional', 'promotional'] }),
  );
  await timedPool(phones, concurrency, async (phone) => {
    for (let attempt = 0; ; attempt++) {
      const answer = await consent.canSend(phone, { from: BUSINESS_NUMBER, type: 'promotional' }).catch(() => undefined);
      if (answer?.allowed) return;
      if (attempt > 200) throw new Error(`${phone}: consent not in force after ${attempt} reads (${answer?.reason ?? 'no answer'})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
}
