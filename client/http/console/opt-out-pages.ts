/**
 * The opt-out list (consent-rules.md §7): filtered by source and dates, paged by cursor, exported as CSV, and an
 * operator's form for an opt-out received by phone or e-mail. Nothing here removes an opt-out (§4).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, type OptOutRecorded } from '../../consent-client';
import { OPT_OUT_SOURCES } from '../../../workflows/domain/schemas';
import type { OptOutPage } from '../../../activities/postgres/opt-out-list';
import { sendCsvExport } from '../csv-export';
import { formValues, isHtmx, sessionOf, type ConsoleContext } from './context';
import { recordedBy } from './session';

/** Rows per page: a screenful, and the cursor pages on. */
const PAGE_SIZE = 50;

interface ListFilter {
  source?: string;
  from?: string;
  to?: string;
  cursor?: string;
}

function filterOf(query: unknown): ListFilter {
  const { source, from, to, cursor } = formValues(query);
  return { source, from, to, cursor };
}

function queryString(values: Record<string, string | undefined>): string {
  const defined = Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return defined.length > 0 ? `?${new URLSearchParams(defined)}` : '';
}

export function optOutPages(app: FastifyInstance, context: ConsoleContext): void {
  const { consent, base } = context;

  async function listPage(request: FastifyRequest, reply: FastifyReply, extra: { notice?: unknown; form?: Record<string, string | undefined>; formIssues?: unknown[] } = {}, status = 200) {
    const filter = filterOf(request.query);
    let page: OptOutPage = { optOuts: [], nextCursor: null };
    let issues: { field: string; message: string }[] = [];
    try {
      page = await consent.listOptOuts({ ...(filter as Record<string, string>), limit: PAGE_SIZE });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      issues = error.issues;
      status = 400;
    }
    const { cursor: _cursor, ...withoutCursor } = filter;
    return context.render(
      request,
      reply,
      'opt-outs',
      {
        title: 'Opt-out list',
        nav: 'opt-outs',
        sources: OPT_OUT_SOURCES,
        filter,
        optOuts: page.optOuts,
        issues,
        firstPageHref: filter.cursor ? `${base}/opt-outs${queryString(withoutCursor)}` : null,
        nextPageHref: page.nextCursor ? `${base}/opt-outs${queryString({ ...withoutCursor, cursor: page.nextCursor })}` : null,
        exportHref: `${base}/opt-outs.csv${queryString(withoutCursor)}`,
        notice: extra.notice ?? null,
        form: extra.form ?? {},
        formIssues: extra.formIssues ?? [],
      },
      status,
    );
  }

  app.get('/opt-outs', async (request, reply) => listPage(request, reply));

  /** The API's own export (GET /v1/opt-outs?format=csv) behind the console's session, since a link cannot carry a bearer key. */
  app.get('/opt-outs.csv', async (request, reply) => {
    const { cursor: _cursor, ...filter } = filterOf(request.query);
    return sendCsvExport(request, reply, {
      entries: consent.exportOptOuts(filter as Record<string, string>),
      columns: context.optOutCsvColumns,
      fileName: 'opt-outs.csv',
      what: { export: 'opt-out', via: 'console' },
    });
  });

  /** An opt-out received by another channel (FCC: "any reasonable means"): source operator-recorded, no SMS. */
  app.post('/opt-outs', async (request, reply) => {
    const session = sessionOf(request);
    const form = formValues(request.body);
    let recorded: OptOutRecorded;
    try {
      recorded = await consent.addOptOut({
        phone: form.phone ?? '',
        recordedBy: recordedBy(session, form.operator),
        note: form.note ?? null,
        reference: form.reference ?? null,
        businessNumber: form.businessNumber ?? null,
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      if (isHtmx(request)) return context.renderPartial(request, reply, 'partials/opt-out-response', { form, formIssues: error.issues, notice: null }, 422);
      return listPage(request, reply, { form, formIssues: error.issues }, 422);
    }
    request.log.info({ contact: recorded.contact, keyName: session.keyName, requestId: request.id }, 'console: operator opt-out recorded');
    const notice = { kind: 'success', recorded, contactHref: `${base}/contacts/${encodeURIComponent(recorded.contact)}` };
    if (isHtmx(request)) return context.renderPartial(request, reply, 'partials/opt-out-response', { form: {}, formIssues: [], notice });
    return listPage(request, reply, { notice });
  });
}
