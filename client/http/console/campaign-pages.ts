/** Campaigns: the list with each one's progress, one campaign's counts (live while it runs), pause, resume and cancel. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CAMPAIGN_FINAL_STATUSES } from '../../../workflows/domain/campaign';
import type { CampaignReport } from '../../campaigns';
import { formValues, isHtmx, sessionOf, type ConsoleContext } from './context';

const POLL_SECONDS = 2;
const CONTROLS = ['pause', 'resume', 'cancel'] as const;
type CampaignControl = (typeof CONTROLS)[number];

/** Recipients with an outcome (or none to come: invalid, cancelled) of all recipients. */
export function campaignPercent({ counts }: CampaignReport): number {
  if (counts.total === 0) return 100;
  return Math.floor(((counts.total - counts.pending - counts.held) / counts.total) * 100);
}

/** What an operator may do to a campaign in its status (the workflow's validators decide; these are the buttons shown). */
function controlsFor(campaign: CampaignReport): CampaignControl[] {
  if (CAMPAIGN_FINAL_STATUSES.includes(campaign.status)) return [];
  return campaign.status === 'paused' ? ['resume', 'cancel'] : ['pause', 'cancel'];
}

export function campaignPages(app: FastifyInstance, context: ConsoleContext): void {
  const { campaigns, base } = context;
  const hrefOf = (id: string) => `${base}/campaigns/${encodeURIComponent(id)}`;

  function campaignData(campaign: CampaignReport, notice: unknown = null) {
    return {
      campaign,
      percent: campaignPercent(campaign),
      controls: controlsFor(campaign),
      live: !CAMPAIGN_FINAL_STATUSES.includes(campaign.status),
      pollSeconds: POLL_SECONDS,
      href: hrefOf(campaign.campaignId),
      notice,
    };
  }

  app.get('/campaigns', async (request, reply) => {
    const { cursor } = formValues(request.query);
    const page = await campaigns.listCampaigns({ limit: 50, cursor });
    return context.render(request, reply, 'campaigns', {
      title: 'Campaigns',
      nav: 'campaigns',
      campaigns: page.campaigns.map((campaign) => ({ ...campaign, percent: campaignPercent(campaign), href: hrefOf(campaign.campaignId) })),
      nextPageHref: page.nextCursor ? `${base}/campaigns?cursor=${encodeURIComponent(page.nextCursor)}` : null,
      firstPageHref: cursor ? `${base}/campaigns` : null,
    });
  });

  app.get('/campaigns/:campaignId', async (request, reply) => {
    const campaign = await campaigns.getCampaign((request.params as { campaignId: string }).campaignId);
    return context.render(request, reply, 'campaign', { title: `Campaign ${campaign.campaignId}`, nav: 'campaigns', ...campaignData(campaign) });
  });

  app.get('/campaigns/:campaignId/progress', async (request, reply) => {
    const campaign = await campaigns.getCampaign((request.params as { campaignId: string }).campaignId);
    return context.renderPartial(request, reply, 'partials/campaign-progress', campaignData(campaign));
  });

  async function control(request: FastifyRequest, reply: FastifyReply, action: CampaignControl) {
    const session = sessionOf(request);
    const { campaignId } = request.params as { campaignId: string };
    // A campaign that cannot do it now (pausing a completed one) is a 409 with the reason, rendered by the error handler.
    await campaigns[action](campaignId);
    request.log.info({ campaignId, action, keyName: session.keyName, operator: session.operator, requestId: request.id }, `console: campaign ${action}`);
    const campaign = await campaigns.getCampaign(campaignId);
    const notice = { kind: 'success', message: `Campaign ${campaign.campaignId}: ${{ pause: 'paused', resume: 'resumed', cancel: 'cancelled' }[action]}.` };
    if (isHtmx(request)) return context.renderPartial(request, reply, 'partials/campaign-progress', campaignData(campaign, notice));
    return context.render(request, reply, 'campaign', { title: `Campaign ${campaign.campaignId}`, nav: 'campaigns', ...campaignData(campaign, notice) });
  }

  for (const action of CONTROLS) {
    app.post(`/campaigns/:campaignId/${action}`, async (request, reply) => control(request, reply, action));
  }
}
