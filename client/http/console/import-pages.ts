/**
 * Suppression import (consent-rules.md §7): upload a CSV, watch its progress (htmx polls the import's `progress`
 * query through the client library), then read its invalid lines with their reasons.
 */
import { randomUUID } from 'node:crypto';
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, type SuppressionImportReport } from '../../consent-client';
import { formValues, isHtmx, sessionOf, type ConsoleContext } from './context';
import { recordedBy } from './session';

/** How often the page asks for progress while the import runs. */
const POLL_SECONDS = 1;

/** The CLI's measure: numbers applied (opted out, or already opted out) of the distinct valid numbers. */
export function importPercent({ progress }: SuppressionImportReport): number {
  if (progress.status === 'completed') return 100;
  if (progress.valid === 0) return 0;
  return Math.min(100, Math.floor(((progress.optedOut + progress.alreadyOptedOut) / progress.valid) * 100));
}

function progressData(context: ConsoleContext, report: SuppressionImportReport) {
  const { progress } = report;
  const running = progress.status === 'parsing' || progress.status === 'applying';
  return {
    report,
    percent: importPercent(report),
    running,
    pollSeconds: POLL_SECONDS,
    progressHref: `${context.base}/imports/${encodeURIComponent(progress.importId)}/progress`,
  };
}

export async function importPages(app: FastifyInstance, context: ConsoleContext): Promise<void> {
  const { consent, base } = context;

  async function uploadForm(request: FastifyRequest, reply: FastifyReply, data: { form?: Record<string, string | undefined>; formIssues?: unknown[] } = {}, status = 200) {
    return context.render(
      request,
      reply,
      'imports',
      { title: 'Suppression import', nav: 'imports', form: data.form ?? {}, formIssues: data.formIssues ?? [], importId: data.form?.importId ?? randomUUID(), maxMiB: Math.floor(context.maxImportBytes / 1024 / 1024) },
      status,
    );
  }

  app.get('/imports', async (request, reply) => uploadForm(request, reply));

  // Multipart only here, with every field on the body, so the CSRF check reads the form's token before anything starts.
  await app.register(async (uploads) => {
    await uploads.register(multipart, { attachFieldsToBody: true, limits: { fileSize: context.maxImportBytes, files: 1, fields: 10 } });
    uploads.post('/imports', { bodyLimit: context.maxImportBytes + 64 * 1024 }, async (request, reply) => {
      const session = sessionOf(request);
      const form = formValues(request.body);
      const file = (request.body as Record<string, unknown> | undefined)?.file as MultipartFile | undefined;
      const content = file && typeof file.toBuffer === 'function' ? (await file.toBuffer()).toString('utf8') : '';
      let started: { importId: string };
      try {
        if (!file || (content.length === 0 && !file.filename)) throw new InvalidInputError([{ field: 'file', message: 'choose a CSV file to import' }]);
        started = await consent.importSuppressionList(content, {
          recordedBy: recordedBy(session, form.operator),
          column: form.column,
          fileName: file.filename || undefined,
          // Generated with the form: submitting the same form twice is one import.
          importId: form.importId,
        });
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return uploadForm(request, reply, { form: { ...form, importId: undefined }, formIssues: error.issues }, 422);
      }
      request.log.info({ importId: started.importId, keyName: session.keyName, requestId: request.id }, 'console: suppression import started');
      const page = `${base}/imports/${encodeURIComponent(started.importId)}`;
      if (isHtmx(request)) return reply.header('hx-redirect', page).code(204).send();
      return reply.redirect(page, 303);
    });
  });

  app.get('/imports/:importId', async (request, reply) => {
    const report = await consent.getSuppressionImport((request.params as { importId: string }).importId);
    return context.render(request, reply, 'import', { title: `Import ${report.progress.importId}`, nav: 'imports', ...progressData(context, report) });
  });

  /** The fragment htmx polls: it stops polling itself once the import has ended (no trigger in the last answer). */
  app.get('/imports/:importId/progress', async (request, reply) => {
    const report = await consent.getSuppressionImport((request.params as { importId: string }).importId);
    return context.renderPartial(request, reply, 'partials/import-progress', progressData(context, report));
  });
}
