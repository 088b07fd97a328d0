/** Streams a list of any size as a CSV download: one way for every export (the opt-out list, campaign recipients). */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The first entry is read before the answer starts, so an unknown id or a failure there is still a status code.
 * Midway, the answer can only be cut short: the client sees a truncated download, and the log says why.
 */
export async function sendCsvExport<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  { entries, columns, fileName, what }: { entries: AsyncGenerator<T>; columns: readonly string[]; fileName: string; what: Record<string, unknown> & { export: string } },
): Promise<FastifyReply> {
  const first = await entries.next();
  const rows = Readable.from(
    (async function* () {
      if (!first.done) yield first.value;
      yield* entries;
    })(),
  );
  const csv = stringify({ header: true, columns: [...columns] });
  rows.on('error', (error) => {
    request.log.error({ err: error, requestId: request.id, ...what }, `${what.export} CSV export failed midway; response ended`);
    csv.destroy(error);
  });
  csv.on('error', () => reply.raw.destroy());
  rows.pipe(csv);
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${fileName}"`).send(csv);
}
