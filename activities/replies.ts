/** The reply activity: sends the confirmation or HELP reply the contact actor decided, exactly once per decision. */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { replyStalenessQuery } from '../workflows/messages';
import type { LedgerEntry } from '../workflows/domain/ledger';
import { REPLY_NO_LONGER_TRUE, renderReply, type AccountProfile, type ReplyKind } from '../workflows/domain/settings';
import type { ConsentLedger } from './postgres/ledger';
import type { OutboundMessageRecord, OutboundMessages } from './postgres/outbound-messages';
import type { Programs } from './postgres/programs';
import { ProviderRejectedError, type SmsProvider } from './providers/provider';

/** How long a retry waits for its actor to say whether the reply is still true. */
const STALENESS_QUERY_TIMEOUT_MS = 5000;

/** How far the provider's clock may run behind ours when it stamps a message's creation (Twilio's is to the second). */
const PROVIDER_CLOCK_MARGIN_MS = 60_000;

export interface SendReplyRequest {
  kind: ReplyKind;
  idempotencyKey: string;
  /** the contact the reply goes to */
  contact: string;
  /** the business number the inbound text came in on: the reply goes out on the same thread */
  businessNumber: string;
  inboundMessageId: string;
  /**
   * Since the opt-out hardening: a retry first asks the actor whether the reply is still true (a STOP may have come
   * after the HELP it answers), and ends with ReplyNoLongerTrue when it is not.
   */
  recheck?: boolean;
  /** opt-in texts: the program they are for (its name, description and frequency are the text's); null: the account's */
  program?: string | null;
  /** a double opt-in's request: the reply that confirms it */
  confirmKeyword?: string;
}

export interface SendReplyResult {
  outboundMessageId: string;
  providerMessageId: string;
  /** true when an earlier attempt had already sent it, so this one sent nothing */
  alreadySent: boolean;
  /** the reply_sent entry, when the ledger could not take it: the actor appends it */
  unrecordedEvidence?: LedgerEntry;
}

export interface ReplyDependencies {
  outbox: OutboundMessages;
  provider: SmsProvider;
  profile: AccountProfile;
  ledger: ConsentLedger;
  /** for the retries' question to the actor (replyStalenessQuery); without it a retry sends as decided */
  client?: Client;
  /** the programs opt-in texts describe */
  programs?: Programs;
}

export function createReplyActivities({ outbox, provider, profile, ledger, client, programs }: ReplyDependencies) {
  /** The text of a reply as first claimed (a retry sends the stored body): an opt-in text describes its program. */
  async function replyBody(request: SendReplyRequest): Promise<string> {
    const program = request.program && programs ? await programs.get(request.program) : undefined;
    return renderReply(request.kind, profile, program, request.confirmKeyword);
  }

  /**
   * Why the reply is no longer true, asked of its actor before a retry calls the provider again. An actor that cannot
   * answer (busy, or older than the query) leaves the reply as decided: a confirmation is never dropped on a guess.
   */
  async function noLongerTrue(request: SendReplyRequest): Promise<string | null> {
    const { attempt, workflowExecution } = Context.current().info;
    if (!request.recheck || attempt === 1 || !client || !workflowExecution) return null;
    try {
      const handle = client.workflow.getHandle(workflowExecution.workflowId, workflowExecution.runId);
      return await client.connection.withDeadline(Date.now() + STALENESS_QUERY_TIMEOUT_MS, () => handle.query(replyStalenessQuery, request.idempotencyKey));
    } catch (error) {
      log.warn('reply sent as decided: its actor could not say whether it is still true', { contact: request.contact, error: String(error) });
      return null;
    }
  }

  /**
   * §8: the confirmation itself is evidence; keyed by the reply, so the retry of a sent reply adds nothing. A ledger
   * that cannot be written now does not hold the reply up: the entry goes back to the actor, whose own ledger loop
   * appends it durably (with the same key) once Postgres takes it.
   */
  async function recordReplySent(request: SendReplyRequest, record: OutboundMessageRecord, providerMessageId: string): Promise<LedgerEntry | undefined> {
    const entry = replySentEntry(request, record, providerMessageId);
    try {
      await ledger.append([entry]);
      return undefined;
    } catch (error) {
      log.warn('reply_sent evidence handed back to the actor: the ledger append failed', { contact: request.contact, error: String(error) });
      return entry;
    }
  }

  function replySentEntry(request: SendReplyRequest, record: OutboundMessageRecord, providerMessageId: string): LedgerEntry {
    return {
      key: `${request.idempotencyKey}:sent`,
      contact: request.contact,
      event: 'reply_sent',
      occurredAt: new Date().toISOString(),
      businessNumber: request.businessNumber,
      source: request.kind,
      evidence: { body: record.body, inboundMessageId: request.inboundMessageId, providerMessageId, provider: record.provider },
      workflowId: record.workflowId,
      runId: record.runId,
    };
  }

  return {
    async sendReply(request: SendReplyRequest): Promise<SendReplyResult> {
      const execution = Context.current().info.workflowExecution;
      const record = await outbox.claim({
        idempotencyKey: request.idempotencyKey,
        contact: request.contact,
        businessNumber: request.businessNumber,
        kind: request.kind,
        body: await replyBody(request),
        provider: provider.name,
        inboundMessageId: request.inboundMessageId,
        workflowId: execution?.workflowId ?? null,
        runId: execution?.runId ?? null,
      });
      if (record.status === 'sent' && record.providerMessageId) {
        const unrecordedEvidence = await recordReplySent(request, record, record.providerMessageId);
        log.info('reply already sent by an earlier attempt', { contact: record.contact, kind: request.kind, providerMessageId: record.providerMessageId });
        return { outboundMessageId: record.id, providerMessageId: record.providerMessageId, alreadySent: true, ...(unrecordedEvidence ? { unrecordedEvidence } : {}) };
      }
      const why = await noLongerTrue(request);
      if (why !== null) throw ApplicationFailure.nonRetryable(why, REPLY_NO_LONGER_TRUE);
      await outbox.markSending(record.id);
      // The stored body is what goes out, so a retry sends the same text even if the profile changed meanwhile.
      const message = { idempotencyKey: request.idempotencyKey, to: record.contact, from: record.businessNumber, body: record.body };
      try {
        if (record.status === 'sending') {
          // An earlier attempt may have reached the provider and lost its answer: look before sending it again.
          const since = new Date(Date.parse(record.createdAt) - PROVIDER_CLOCK_MARGIN_MS);
          const handedOver = await provider.findSent(message, since);
          if (handedOver) {
            await outbox.markSent(record.id, handedOver.providerMessageId, handedOver.status);
            const unrecordedEvidence = await recordReplySent(request, record, handedOver.providerMessageId);
            log.info('reply found at the provider: an earlier attempt sent it', { contact: record.contact, kind: request.kind, providerMessageId: handedOver.providerMessageId });
            return { outboundMessageId: record.id, providerMessageId: handedOver.providerMessageId, alreadySent: true, ...(unrecordedEvidence ? { unrecordedEvidence } : {}) };
          }
        }
        const sent = await provider.send(message);
        await outbox.markSent(record.id, sent.providerMessageId, sent.status);
        const unrecordedEvidence = await recordReplySent(request, record, sent.providerMessageId);
        // The activity logger adds workflowId, activityType and attempt to each line.
        log.info('reply sent', { contact: record.contact, businessNumber: record.businessNumber, kind: request.kind, providerMessageId: sent.providerMessageId });
        return { outboundMessageId: record.id, providerMessageId: sent.providerMessageId, alreadySent: false, ...(unrecordedEvidence ? { unrecordedEvidence } : {}) };
      } catch (error) {
        if (error instanceof ProviderRejectedError) {
          await outbox.markError(record.id, error.code, error.message, !error.retryable);
          if (!error.retryable) {
            throw ApplicationFailure.nonRetryable(
              `${error.provider} refused the message (${error.code}): ${error.message}`,
              error.recipientOptedOut ? 'RecipientOptedOut' : 'ProviderRejected',
              { code: error.code, provider: error.provider },
            );
          }
        }
        throw error;
      }
    },
  };
}

export type ReplyActivities = ReturnType<typeof createReplyActivities>;
