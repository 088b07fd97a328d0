/**
 * The campaign routes: create (JSON, or a CSV upload as multipart), read the counts, page or export the recipients'
 * outcomes, and pause, resume or cancel. Registered by server.ts, behind its API keys and its error answers.
 */
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CAMPAIGN_RECIPIENT_CSV_COLUMNS, type CampaignClient } from '../campaigns';
import { InvalidInputError } from '../consent-client';
import { sendCsvExport } from './csv-export';

export interface CampaignRouteOptions {
  campaigns: CampaignClient;
  /** the largest campaign request (JSON list or CSV file) */
  maxBytes: number;
}

/** A multipart body the parser could not read (no boundary, cut short, bad part headers) is the client's to fix. */
function multipartInputError(error: unknown): Error {
  const { statusCode } = error as { statusCode?: number };
  if (typeof statusCode === 'number' && statusCode < 500) return error as Error;
  return new InvalidInputError([
    { field: 'file', message: `the multipart body could not be read (${error instanceof Error ? error.message : String(error)}): send the CSV as the multipart field "file"` },
  ]);
}

export const campaignRoutes: FastifyPluginAsync<CampaignRouteOptions> = async (instance, { campaigns, maxBytes }) => {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  const { schemas } = campaigns;
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 20 } });

  /** JSON `{ from, type, body, recipients, … }`, or multipart: the CSV as field `file`, the options as fields (`from` repeated or comma-separated). */
  app.post('/v1/campaigns', { bodyLimit: maxBytes }, async (request, reply) => {
    let created;
    if (request.isMultipart()) {
      const options: Record<string, unknown> = {};
      let content: string | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            content = (await part.toBuffer()).toString('utf8');
            options.fileName ??= part.filename;
          } else {
            const earlier = options[part.fieldname];
            options[part.fieldname] = earlier === undefined ? part.value : [earlier, part.value].flat();
          }
        }
      } catch (error) {
        throw multipartInputError(error);
      }
      if (content === undefined) throw new InvalidInputError([{ field: 'file', message: 'send the recipients as the multipart field "file" (CSV with a header row)' }]);
      created = await campaigns.createCampaignFromCsv(content, options as Parameters<CampaignClient['createCampaignFromCsv']>[1]);
    } else {
      created = await campaigns.createCampaign(request.body as Parameters<CampaignClient['createCampaign']>[0]);
    }
    return reply.status(202).send({ ...created, statusUrl: `/v1/campaigns/${created.campaignId}` });
  });

  app.get('/v1/campaigns/:campaignId', { schema: { params: schemas.campaignParams } }, async (request) => campaigns.getCampaign(request.params.campaignId));

  /** Outcomes in line order, `{ recipients, nextCursor }`; `format=csv` streams every one. */
  app.get('/v1/campaigns/:campaignId/recipients', { schema: { params: schemas.campaignParams, querystring: schemas.recipientsPage } }, async (request, reply) => {
    const { campaignId } = request.params;
    if (request.query.format !== 'csv') return campaigns.listRecipients(campaignId, request.query);
    return sendCsvExport(request, reply, {
      entries: campaigns.exportRecipients(campaignId, request.query),
      columns: CAMPAIGN_RECIPIENT_CSV_COLUMNS,
      fileName: `campaign-${campaignId}-recipients.csv`,
      what: { export: 'campaign recipients', campaignId },
    });
  });

  /** Answer once the change is in force: paused (nothing in flight), running again, or cancelled (every unsent recipient counted). */
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(`/v1/campaigns/:campaignId/${action}`, { schema: { params: schemas.campaignParams } }, async (request) => campaigns[action](request.params.campaignId));
  }
};
