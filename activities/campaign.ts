/**
 * The campaign's activities: plan the next batches (line ranges, never the rows), send one batch through the send
 * gate, count the outcomes, release recipients held for quiet hours, write the campaign's status, and settle what a
 * cancellation leaves.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { campaignSendKey, campaignSendKeyPrefix, type CampaignStatus, type CampaignTally, type HeldRecipients } from '../workflows/domain/campaign';
import type { OutboundSendRequest, OutboundSendResult, SendExecution, SendGate } from './outbound-send';
import type { CampaignRecord, Campaigns, PendingRecipient, RecipientOutcome } from './postgres/campaigns';
import type { OutboundMessages } from './postgres/outbound-messages';
import type { ConsentLedger } from './postgres/ledger';

export interface CampaignBatch {
  campaignId: string;
  firstLine: number;
  lastLine: number;
  /** this batch's share of each business number's rate (the campaign's rate over the batches that run at once); null: none */
  ratePerSecond: number | null;
}

export interface CampaignBatchResult {
  /** recipients this attempt (and the ones before it) decided in the range */
  decided: number;
  /** stopped by a pause or a cancellation: the range's undecided recipients are still pending */
  halted: boolean;
}

/** Where a retried batch attempt resumes: every line up to here is decided. */
interface BatchHeartbeat {
  throughLine: number;
  decided: number;
}

/** Sends in flight at once within a batch: the gate asks a contact actor each time, so a few overlap the round trips. */
const SEND_CONCURRENCY = 8;
/** Attempts per recipient within a batch before the gate's last word (giveUp) decides it. */
const SEND_ATTEMPTS = 5;
const RETRY_BASE_MS = 500;
/** A paced wait heartbeats this often, so a pause or a cancellation reaches the batch while it waits. */
const HEARTBEAT_SLICE_MS = 1000;

export interface CampaignDependencies {
  gate: SendGate;
  campaigns: Campaigns;
  /** what the gate recorded for a send a cancellation finds in doubt; held messages a cancellation withdraws */
  outbox: OutboundMessages;
  /** the withdrawals' evidence */
  ledger: ConsentLedger;
}

/** Spreads each business number's sends: one slot every 1/rate seconds, reserved in turn by the batch's senders. */
class FromNumberPacer {
  private readonly nextSlot = new Map<string, number>();
  constructor(private readonly intervalMs: number) {}

  /** Milliseconds until this number's next slot, which is now taken. */
  reserve(fromNumber: string): number {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot.get(fromNumber) ?? now);
    this.nextSlot.set(fromNumber, slot + this.intervalMs);
    return slot - now;
  }
}

function sendRequest(campaign: CampaignRecord, recipient: PendingRecipient): OutboundSendRequest {
  return {
    idempotencyKey: campaignSendKey(campaign.id, recipient.line),
    to: recipient.phone,
    from: recipient.fromNumber,
    body: recipient.body,
    type: campaign.type,
    program: campaign.program,
    appendDisclosures: campaign.appendDisclosures,
    onQuietHours: campaign.onQuietHours,
  };
}

function toOutcome(line: number, result: OutboundSendResult): RecipientOutcome {
  switch (result.status) {
    case 'sent':
      return { line, status: 'sent', code: null, reason: null, outboundMessageId: result.outboundMessageId, providerMessageId: result.providerMessageId };
    case 'refused':
      return { line, status: 'refused', code: result.code, reason: result.reason, outboundMessageId: null, providerMessageId: null };
    case 'failed':
      return { line, status: 'failed', code: result.code, reason: result.reason, outboundMessageId: null, providerMessageId: null };
    case 'unknown':
      return { line, status: 'unknown', code: result.code, reason: result.reason, outboundMessageId: result.outboundMessageId, providerMessageId: null };
    case 'held':
      // Not an outcome yet: releaseHeldRecipients makes it pending again once its window opens (consent-rules.md §9).
      return { line, status: 'held', code: result.code, reason: result.reason, outboundMessageId: result.outboundMessageId, providerMessageId: null, heldUntil: result.heldUntil };
  }
}

export function createCampaignActivities({ gate, campaigns, outbox, ledger }: CampaignDependencies) {
  async function requireCampaign(campaignId: string): Promise<CampaignRecord> {
    const campaign = await campaigns.get(campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} is not stored`, 'UnknownCampaign');
    return campaign;
  }

  function execution(): SendExecution {
    const { workflowExecution } = Context.current().info;
    return { workflowId: workflowExecution?.workflowId ?? null, runId: workflowExecution?.runId ?? null };
  }

  /** Waits, heartbeating; false when the batch was told to stop (a pause or a cancellation) meanwhile. */
  async function waitUnlessHalted(ms: number, heartbeat: () => void, halted: () => Promise<boolean>): Promise<boolean> {
    const context = Context.current();
    for (let left = ms; left > 0; left -= HEARTBEAT_SLICE_MS) {
      if (context.cancellationSignal.aborted || (left < ms && (await halted()))) return false;
      heartbeat();
      await context.sleep(Math.min(left, HEARTBEAT_SLICE_MS)).catch(() => undefined);
    }
    return !context.cancellationSignal.aborted;
  }

  return {
    async planCampaignBatches({ campaignId, afterLine, batchSize, batches }: { campaignId: string; afterLine: number; batchSize: number; batches: number }) {
      return campaigns.nextBatches(campaignId, afterLine, batchSize, batches);
    },

    /** The counts, and when the first held recipient may go (histories from before holds answered the counts alone). */
    async countCampaign(campaignId: string): Promise<CampaignTally> {
      return campaigns.counts(campaignId);
    },

    /** When planning finds nothing to send: how many recipients wait for their quiet hours to end, and the first end. */
    async nextHeldRelease(campaignId: string): Promise<HeldRecipients> {
      return campaigns.heldRecipients(campaignId);
    },

    /** Held recipients whose window has opened are pending again, to be sent (or refused) by the next batches; how many. */
    async releaseHeldRecipients(campaignId: string): Promise<number> {
      return campaigns.releaseHeld(campaignId);
    },

    /** Before a pause or a cancellation cancels the batches: they stop before their next send, not at their next heartbeat. */
    async haltCampaignSends(campaignId: string): Promise<void> {
      await campaigns.requestHalt(campaignId);
    },

    async recordCampaignStatus({ campaignId, status }: { campaignId: string; status: CampaignStatus }): Promise<void> {
      await campaigns.recordStatus(campaignId, status);
    },

    /**
     * Sends the undecided recipients of one line range through the gate, each exactly once: its outcome is written as
     * soon as the gate answers, and a retried attempt (a killed worker) skips what is written and resumes after the
     * heartbeat's line; the gate answers a key it already decided with what it recorded, without sending again.
     * A pause or cancellation stops it between sends: what is in flight finishes and is written first.
     */
    async sendCampaignBatch({ campaignId, firstLine, lastLine, ratePerSecond }: CampaignBatch): Promise<CampaignBatchResult> {
      const context = Context.current();
      const campaign = await requireCampaign(campaignId);
      const resumed = context.info.heartbeatDetails as BatchHeartbeat | undefined;
      const start = Math.max(firstLine, (resumed?.throughLine ?? firstLine - 1) + 1);
      const recipients = await campaigns.pendingRecipients(campaignId, start, lastLine);
      const pacer = ratePerSecond ? new FromNumberPacer(1000 / ratePerSecond) : undefined;
      const sendExecution = execution();
      const done = new Array<boolean>(recipients.length).fill(false);
      let decided = resumed?.decided ?? 0;
      let throughIndex = -1;
      const heartbeat = () => {
        while (throughIndex + 1 < done.length && done[throughIndex + 1]) throughIndex += 1;
        const throughLine = throughIndex >= 0 ? recipients[throughIndex]!.line : start - 1;
        context.heartbeat({ throughLine, decided } satisfies BatchHeartbeat);
      };

      // A pause or cancellation is seen here before each send; Temporal's cancellation only with a heartbeat's answer.
      let halt = false;
      const halted = async () => {
        halt ||= context.cancellationSignal.aborted || (await campaigns.haltRequested(campaignId));
        return halt;
      };

      const decide = async (request: OutboundSendRequest): Promise<OutboundSendResult> => {
        let lastError: unknown;
        for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt += 1) {
          try {
            return await gate.send(request, sendExecution);
          } catch (error) {
            lastError = error;
            log.warn('campaign send attempt failed', { campaignId, idempotencyKey: request.idempotencyKey, attempt, error: String(error) });
            if (attempt < SEND_ATTEMPTS && !(await waitUnlessHalted(RETRY_BASE_MS * 2 ** (attempt - 1), heartbeat, halted))) throw error;
          }
        }
        // The gate's last word: refused STATE_UNAVAILABLE if it never reached the provider, else OUTCOME_UNKNOWN.
        return gate.giveUp(request, sendExecution, `no answer after ${SEND_ATTEMPTS} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      };

      let next = 0;
      const sendNext = async (): Promise<void> => {
        while (next < recipients.length && !halt) {
          const index = next++;
          const recipient = recipients[index]!;
          if (pacer && !(await waitUnlessHalted(pacer.reserve(recipient.fromNumber), heartbeat, halted))) return;
          if (await halted()) return;
          const result = await decide(sendRequest(campaign, recipient));
          await campaigns.recordOutcomes(campaignId, [toOutcome(recipient.line, result)]);
          done[index] = true;
          decided += 1;
          heartbeat();
        }
      };
      // allSettled: a pause returns only once every send in flight has finished and is written.
      const settled = await Promise.allSettled(Array.from({ length: Math.min(SEND_CONCURRENCY, recipients.length) }, sendNext));
      const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (context.cancellationSignal.aborted) {
        heartbeat();
        await context.cancelled;
      }
      if (failure && !halt) throw failure.reason;
      return { decided, halted: halt };
    },

    /**
     * After a cancellation (no batch runs any more): every undecided recipient gets its outcome. One the gate never
     * saw is `cancelled`; one it holds a decision for keeps that decision; one in doubt (its send may have reached
     * the provider when a worker died) gets the gate's last word, never a resend.
     */
    async settleCancelledCampaign(campaignId: string): Promise<void> {
      const campaign = await requireCampaign(campaignId);
      const inDoubt = await campaigns.cancelUnclaimed(campaignId);
      // Messages held for quiet hours are never decided again: the outbox and the ledger say they were withdrawn.
      const withdrawn = await outbox.withdrawHeld(campaignSendKeyPrefix(campaignId), 'the campaign was cancelled while this message was held for quiet hours');
      await ledger.append(
        withdrawn.map((row) => ({
          key: `send:${row.idempotencyKey}:withdrawn`,
          contact: row.contact,
          event: 'send_refused' as const,
          occurredAt: new Date().toISOString(),
          businessNumber: row.businessNumber,
          source: 'CANCELLED',
          evidence: { type: row.messageType, program: row.program, outboundMessageId: row.id, body: row.body, reason: row.errorMessage },
          workflowId: row.workflowId,
          runId: row.runId,
        })),
      );
      const outcomes: RecipientOutcome[] = [];
      for (const recipient of inDoubt) {
        const request = sendRequest(campaign, recipient);
        const recorded = await outbox.findByKey(request.idempotencyKey);
        if (recorded?.status === 'sent' && recorded.providerMessageId) {
          outcomes.push(toOutcome(recipient.line, { status: 'sent', outboundMessageId: recorded.id, providerMessageId: recorded.providerMessageId, body: recorded.body }));
        } else if (recorded?.status === 'refused') {
          outcomes.push({ line: recipient.line, status: 'refused', code: recorded.refusalCode, reason: recorded.errorMessage, outboundMessageId: null, providerMessageId: null });
        } else if (recorded?.status === 'failed') {
          outcomes.push({ line: recipient.line, status: 'failed', code: recorded.errorCode, reason: recorded.errorMessage, outboundMessageId: null, providerMessageId: null });
        } else if (recorded?.status === 'held') {
          // Released from its hold but not sent again before the cancellation: the gate never handed it over.
          outcomes.push({ line: recipient.line, status: 'cancelled', code: null, reason: 'the campaign was cancelled while this recipient was held for quiet hours', outboundMessageId: null, providerMessageId: null });
        } else {
          outcomes.push(toOutcome(recipient.line, await gate.giveUp(request, execution(), 'the campaign was cancelled while this send was in doubt')));
        }
        Context.current().heartbeat(outcomes.length);
      }
      await campaigns.recordOutcomes(campaignId, outcomes);
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
