/**
 * Every workflow-side zod schema, parsed against probes that reach each of its checks: run inside a real worker
 * (where zod is a preloaded, frozen module) and in the test process, and the two answers compared.
 */
import * as consentEvidence from '../../../../workflows/domain/consent-evidence';
import * as schemas from '../../../../workflows/domain/schemas';

const NOW = '2026-11-01T10:00:00Z';
const WEB_FORM = {
  kind: 'web_form',
  formUrl: 'https://acme.example/signup',
  consentText: 'I agree to receive texts from Acme Dental',
  checkboxPrechecked: false,
  submittedAt: NOW,
  ipAddress: '203.0.113.7',
};
const webForm = (changes: Record<string, unknown>) => ({ ...WEB_FORM, ...changes });
const consent = (source: unknown) => ({ type: 'express_written', source, messageTypes: ['promotional'], grantedAt: NOW });

/** Valid and invalid values for the fields with format checks (phone, timestamp, URL, IP address). */
const REALISTIC: Record<string, unknown[]> = {
  e164Schema: ['+14155550100', '4155550100', '+0123'],
  isoTimestampSchema: [NOW, '2026-11-01T10:00:00+02:00', 'yesterday'],
  inboundMessageSchema: [
    { messageId: 'SM1', from: '+14155550101', to: '+14155550100', body: 'STOP', receivedAt: NOW },
    { messageId: 'SM1', from: 'nope', to: '+14155550100', body: 'STOP', receivedAt: 'later' },
  ],
  consentSourceSchema: [
    WEB_FORM,
    webForm({ ipAddress: '2001:db8::7' }),
    webForm({ ipAddress: '999.0.0.1' }),
    webForm({ formUrl: 'ftp://acme.example/signup' }),
    webForm({ formUrl: 'https://not a host/' }),
    { kind: 'verbal', takenBy: 'dana@acme.example', callId: 'CA1' },
  ],
  consentInputSchema: [consent(WEB_FORM), consent(webForm({ ipAddress: '2001:db8::7' })), consent(webForm({ ipAddress: 'localhost' }))],
};
const GENERIC = [undefined, null, {}, [], '', 'x', 0];

export interface ProbeResult {
  schema: string;
  probe: number;
  success?: boolean;
  messages?: string[];
  threw?: string;
}

export function probeSchemas(): ProbeResult[] {
  const results: ProbeResult[] = [];
  for (const [name, schema] of Object.entries({ ...schemas, ...consentEvidence })) {
    if (!name.endsWith('Schema')) continue;
    const parser = schema as { safeParse(value: unknown): { success: boolean; error?: { issues: { message: string }[] } } };
    [...GENERIC, ...(REALISTIC[name] ?? [])].forEach((value, probe) => {
      try {
        const result = parser.safeParse(value);
        results.push({ schema: name, probe, success: result.success, messages: result.error?.issues.map((issue) => issue.message) ?? [] });
      } catch (error) {
        results.push({ schema: name, probe, threw: String(error) });
      }
    });
  }
  return results;
}

/** The probes' own coverage: the names that must appear, so a schema renamed out of the list is noticed. */
export const SCHEMAS_WITH_FORMAT_CHECKS = Object.keys(REALISTIC);
