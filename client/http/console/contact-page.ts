/**
 * One contact: whether it is opted out (since when, from where, how), its consents and conversation threads, what was
 * sent to it, and its evidence timeline from the ledger, with a link to its actor's history in the Temporal Web UI.
 */
import type { FastifyInstance } from 'fastify';
import type { OutboundMessageRecord } from '../../../activities/postgres/outbound-messages';
import type { ContactState } from '../../../workflows/domain/contact-state';
import { ContactStateUnavailableError, contactWorkflowId, InvalidInputError } from '../../consent-client';
import { formValues, type ConsoleContext } from './context';

/** Ledger entries per page of the timeline. */
const TIMELINE_PAGE = 100;

/** What a timeline row says in a line; the whole evidence is behind a disclosure. */
export function evidenceSummary(evidence: Record<string, unknown>): string {
  const parts: string[] = [];
  const text = evidence.text ?? evidence.body ?? evidence.flaggedText;
  if (typeof text === 'string') parts.push(`“${text.length > 160 ? `${text.slice(0, 160)}…` : text}”`);
  if (typeof evidence.messageId === 'string') parts.push(`message ${evidence.messageId}`);
  if (typeof evidence.matched === 'string') parts.push(`matched ${evidence.matched}`);
  for (const field of ['recordedBy', 'decidedBy', 'why', 'reference', 'reason', 'kind'] as const) {
    if (typeof evidence[field] === 'string') parts.push(`${field}: ${evidence[field] as string}`);
  }
  return parts.join(' · ');
}

export function contactPage(app: FastifyInstance, context: ConsoleContext): void {
  const { consent, base } = context;

  /** The header's lookup form: the number as typed, normalised as every edge normalises it. */
  app.get('/contacts', async (request, reply) => {
    const { phone } = formValues(request.query);
    const parsed = consent.schemas.phone.safeParse(phone ?? '');
    if (!parsed.success) {
      throw new InvalidInputError([{ field: 'phone', message: parsed.error.issues.map((issue) => issue.message).join('; ') || 'must be a phone number' }]);
    }
    return reply.redirect(`${base}/contacts/${encodeURIComponent(parsed.data)}`, 303);
  });

  app.get('/contacts/:phone', async (request, reply) => {
    const { phone: written } = request.params as { phone: string };
    const { after } = formValues(request.query);
    const history = await consent.getContactHistory(written, { limit: TIMELINE_PAGE, after });
    const phone = history.contact;
    let state: ContactState | null = null;
    let stateProblem: string | null = null;
    try {
      state = await consent.getContactState(phone);
    } catch (error) {
      // The ledger still answers: show it, and say the live state could not be read (never guess "not opted out").
      if (!(error instanceof ContactStateUnavailableError)) throw error;
      stateProblem = "The contact's live state could not be read in time (is a worker running?). The evidence below is from the ledger.";
    }
    const messages: OutboundMessageRecord[] = await consent.listMessages(phone, 50);
    const workflowId = contactWorkflowId(phone);
    return context.render(request, reply, 'contact', {
      title: `Contact ${phone}`,
      nav: 'contact',
      phone,
      state,
      stateProblem,
      messages,
      entries: history.entries.map((entry) => ({ ...entry, summary: evidenceSummary(entry.evidence), evidenceJson: JSON.stringify(entry.evidence, null, 2) })),
      laterHref: history.next ? `${base}/contacts/${encodeURIComponent(phone)}?after=${encodeURIComponent(history.next)}` : null,
      firstHref: after ? `${base}/contacts/${encodeURIComponent(phone)}` : null,
      workflowId,
      temporalHref: `${context.temporalUiUrl}/namespaces/${encodeURIComponent(context.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    });
  });
}
