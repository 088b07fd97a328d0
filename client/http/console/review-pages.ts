/**
 * The review queue (consent-rules.md §2): texts that contained a keyword without clearly revoking ("We have got to STOP
 * this bill") changed nothing and wait for an operator. Each is resolved as an opt-out (recorded operator-recorded, with
 * who decided and why) or as not one. Neither decision can lift an opt-out (§4).
 */
import type { FastifyInstance } from 'fastify';
import { REVIEW_DECISIONS } from '../../../workflows/domain/schemas';
import { InvalidInputError, NotFoundError } from '../../consent-client';
import { formValues, isHtmx, sessionOf, type ConsoleContext } from './context';
import { recordedBy } from './session';

/** Contacts per page of the queue. */
const QUEUE_SIZE = 100;

/** An element id for a flag: message ids are provider ids (letters, digits, a few signs). */
export function reviewElementId(phone: string, messageId: string): string {
  return `review-${Buffer.from(`${phone}|${messageId}`).toString('base64url')}`;
}

export function reviewPages(app: FastifyInstance, context: ConsoleContext): void {
  const { consent, base } = context;

  app.get('/reviews', async (request, reply) => {
    const { reviews } = await consent.listReviews({ limit: QUEUE_SIZE });
    const flags = reviews.flatMap((review) =>
      review.flags.map((flag) => ({
        ...flag,
        contact: review.contact,
        optedOut: review.optedOut,
        elementId: reviewElementId(review.contact, flag.messageId),
        contactHref: `${base}/contacts/${encodeURIComponent(review.contact)}`,
      })),
    );
    return context.render(request, reply, 'reviews', { title: 'Review queue', nav: 'reviews', flags, queueSize: QUEUE_SIZE });
  });

  app.post('/reviews/resolve', async (request, reply) => {
    const session = sessionOf(request);
    const form = formValues(request.body);
    const phone = form.phone ?? '';
    const messageId = form.messageId ?? '';
    const decision = form.decision;
    const answer = (data: Record<string, unknown>, status = 200) => {
      const values = { phone, messageId, elementId: reviewElementId(phone, messageId), contactHref: `${base}/contacts/${encodeURIComponent(phone)}`, ...data };
      return isHtmx(request) ? context.renderPartial(request, reply, 'partials/review-resolved', values, status) : context.render(request, reply, 'review-resolved', { title: 'Review resolved', nav: 'reviews', ...values }, status);
    };
    if (!REVIEW_DECISIONS.includes(decision as (typeof REVIEW_DECISIONS)[number])) {
      return answer({ kind: 'error', message: `Choose a decision: ${REVIEW_DECISIONS.join(' or ')}. Nothing was changed.` }, 422);
    }
    try {
      const resolved = await consent.resolveReview({ phone, messageId, decision: decision as (typeof REVIEW_DECISIONS)[number], decidedBy: recordedBy(session, form.operator), why: form.why ?? null });
      request.log.info({ contact: resolved.contact, messageId, decision, outcome: resolved.outcome, keyName: session.keyName, requestId: request.id }, 'console: review resolved');
      const message =
        resolved.outcome === 'not_found'
          ? `No open flag for message ${messageId} of ${resolved.contact}: it was resolved already. Nothing was changed.`
          : decision === 'opt_out'
            ? `${resolved.contact} is opted out (source ${resolved.optOut?.source ?? 'operator-recorded'}), decided by ${recordedBy(session, form.operator)}.`
            : `Resolved as not an opt-out: nothing changed for ${resolved.contact}${resolved.optOut ? ', whose earlier opt-out stays in force' : ''}.`;
      return answer({ kind: resolved.outcome === 'not_found' ? 'error' : 'success', message, openFlags: resolved.openFlags });
    } catch (error) {
      if (error instanceof InvalidInputError) return answer({ kind: 'error', message: `Nothing was changed: ${error.issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}` }, 422);
      if (error instanceof NotFoundError) return answer({ kind: 'error', message: error.message }, 404);
      throw error;
    }
  });
}
