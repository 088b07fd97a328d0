/** Consent evidence and message texts several tests need, written once. */

/** A web form that meets §5: an unchecked box, the consent text shown, when and from where. */
export const WEB_FORM_EVIDENCE = {
  kind: 'web_form',
  formUrl: 'https://acme.example/signup',
  consentText: 'I agree to receive texts from Acme Dental',
  checkboxPrechecked: false,
  submittedAt: '2026-11-01T10:00:00Z',
  ipAddress: '203.0.113.7',
} as const;

/** A first message that carries all five §6 disclosures for the default program of the test account. */
export const COMPLIANT_FIRST =
  'Acme Dental: account notifications. Your cleaning is on Tue 10am. Msg frequency varies. Msg & data rates may apply. Reply STOP to unsubscribe.';
