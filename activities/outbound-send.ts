/**
 * The outbound-send activity: asks the contact actor (`canSend` query) whether the message may go, checks the
 * first-message disclosures, then sends through the provider. Every decision is recorded in the outbox.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { evaluateSend } from '../workflows/domain/consent-rules';
import { emptyContactState } from '../workflows/domain/contact-state';
import { appendDisclosures, missingDisclosures, parseFrequency, type Disclosure } from '../workflows/domain/disclosures';
import type { CanSendRequest, CanSendResult, MessageType, SendRefusalCode } from '../workflows/domain/schemas';
import type { AccountProfile } from '../workflows/domain/settings';
import { isStateLoading } from '../workflows/contact';
import { contactWorkflowId } from '../workflows/contact-start';
import { canSendQuery } from '../workflows/messages';
import type { ConsentLedger } from './postgres/ledger';
import type { OptOutList } from './postgres/opt-out-list';
import type { OutboundMessageRecord, OutboundMessages } from './postgres/outbound-messages';
import type { Programs } from './postgres/programs';
import { ProviderRejectedError, type SmsProvider } from './providers/provider';
import { toOptOutRecord } from './postgres/opt-out-list';

export interface OutboundSendRequest {
  idempotencyKey: string;
  to: string;
  from: string;
  body: string;
  type: MessageType;
  program: string | null;
  appendDisclosures: boolean;
}

export type OutboundSendResult =
  | { status: 'sent'; outboundMessageId: string; providerMessageId: string; body: string }
  | { status: 'refused'; code: SendRefusalCode; reason: string; missing?: Disclosure[]; carrierOptOut?: boolean };

/** How long one read of the contact's state may take before this attempt fails (and is retried). */
const STATE_QUERY_TIMEOUT_MS = 5000;

const DISCLOSURE_NAMES: Record<Disclosure, string> = {
  business_name: 'the business name',
  program_description: 'what they will receive',
  opt_out_instructions: 'how to opt out (Reply STOP)',
  message_frequency: 'the message frequency',
  rates_notice: '"Msg & data rates may apply"',
};

export interface OutboundSendDependencies {
  client: Client;
  outbox: OutboundMessages;
  programs: Programs;
  provider: SmsProvider;
  profile: AccountProfile;
  ledger: ConsentLedger;
  optOutList: OptOutList;
}

export function createOutboundSendActivities({ client, outbox, programs, provider, profile, ledger, optOutList }: OutboundSendDependencies) {
  async function readDecision(contact: string, request: CanSendRequest): Promise<CanSendResult> {
    const handle = client.workflow.getHandle(contactWorkflowId(contact));
    const deadline = Date.now() + STATE_QUERY_TIMEOUT_MS;
    try {
      for (;;) {
        try {
          return await client.connection.withDeadline(deadline, () => handle.query(canSendQuery, request));
        } catch (error) {
          // A new run reads the opt-out list first (milliseconds); ask again within this attempt.
          if (!isStateLoading(error) || Date.now() + 20 >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        // No actor (never started, or its closed run is past retention): the opt-out list still speaks for it.
        const listed = await optOutList.get(contact);
        const state = emptyContactState(contact);
        if (listed) Object.assign(state, { optedOut: true, optOut: toOptOutRecord(listed) });
        return evaluateSend(state, request, new Date().toISOString());
      }
      // Fail closed: no answer is never "allowed". Temporal retries this attempt within the workflow's bound.
      throw ApplicationFailure.retryable(`the consent state of ${contact} could not be read: ${(error as Error).message}`, 'StateUnavailable');
    }
  }

  /** §8: every send decision goes to the ledger, keyed by the send, whatever the contact (even one with no actor). */
  async function recordOutcome(request: OutboundSendRequest, record: OutboundMessageRecord, result: OutboundSendResult, decision?: CanSendResult) {
    const about = { type: request.type, program: request.program, outboundMessageId: record.id };
    await ledger.append([
      result.status === 'sent'
        ? {
            key: `send:${request.idempotencyKey}:sent`,
            contact: request.to,
            event: 'message_sent',
            occurredAt: new Date().toISOString(),
            businessNumber: request.from,
            source: request.type,
            evidence: { ...about, body: result.body, providerMessageId: result.providerMessageId, allowedBecause: decision?.reason ?? null },
            workflowId: record.workflowId,
            runId: record.runId,
          }
        : {
            key: `send:${request.idempotencyKey}:refused`,
            contact: request.to,
            event: 'send_refused',
            occurredAt: new Date().toISOString(),
            businessNumber: request.from,
            source: result.code,
            evidence: { ...about, body: record.body, reason: result.reason, missing: result.missing ?? null },
            workflowId: record.workflowId,
            runId: record.runId,
          },
    ]);
    // The activity logger adds workflowId, activityType and attempt to each line.
    if (result.status === 'sent') {
      log.info('message sent', { contact: request.to, businessNumber: request.from, messageType: request.type, providerMessageId: result.providerMessageId });
    } else {
      log.info('message refused', { contact: request.to, businessNumber: request.from, messageType: request.type, code: result.code });
    }
    return result;
  }

  return {
    async sendOutbound(request: OutboundSendRequest): Promise<OutboundSendResult> {
      const execution = Context.current().info.workflowExecution;
      const program = request.program ? await programs.get(request.program) : undefined;
      if (request.program && !program) {
        throw ApplicationFailure.nonRetryable(`program ${request.program} is not declared`, 'UnknownProgram');
      }
      const facts = program
        ? { businessName: program.businessName, description: program.description, frequency: program.frequency }
        : { businessName: profile.businessName, description: profile.programDescription, frequency: profile.messageFrequency };
      const record = await outbox.claim({
        idempotencyKey: request.idempotencyKey,
        contact: request.to,
        businessNumber: request.from,
        kind: 'message',
        body: request.body,
        provider: provider.name,
        inboundMessageId: null,
        workflowId: execution?.workflowId ?? null,
        runId: execution?.runId ?? null,
        messageType: request.type,
        program: request.program,
      });
      if (record.status === 'sent' && record.providerMessageId) {
        return recordOutcome(request, record, { status: 'sent', outboundMessageId: record.id, providerMessageId: record.providerMessageId, body: record.body });
      }
      if (record.status === 'refused') {
        return recordOutcome(request, record, { status: 'refused', code: record.refusalCode as SendRefusalCode, reason: record.errorMessage ?? '' });
      }
      let body = record.body;
      let decision: CanSendResult | undefined;
      // 'sending': an earlier attempt decided to send and may have reached the provider; resend the same, undecided again.
      if (record.status !== 'sending') {
        const frequencyCap = program ? (parseFrequency(program.frequency) ?? null) : null;
        decision = await readDecision(request.to, {
          from: request.from,
          type: request.type,
          program: program ? { id: program.id, frequencyCap } : null,
          at: new Date().toISOString(),
        });
        if (!decision.allowed) {
          const code = decision.code as SendRefusalCode;
          await outbox.markRefused(record.id, code, decision.reason);
          return recordOutcome(request, record, { status: 'refused', code, reason: decision.reason });
        }
        // §6: the first business-initiated message carries the five disclosures; conversational replies are exempt.
        if (request.type !== 'conversational' && decision.firstBusinessMessage) {
          const missing = missingDisclosures(body, facts);
          if (missing.length > 0 && request.appendDisclosures) {
            body = appendDisclosures(body, facts);
          } else if (missing.length > 0) {
            const reason = `the first message to ${request.to} must carry ${missing.map((m) => DISCLOSURE_NAMES[m]).join(', ')} (consent-rules.md §6); send with appendDisclosures to add a compliant footer`;
            await outbox.markRefused(record.id, 'MISSING_DISCLOSURES', reason);
            return recordOutcome(request, record, { status: 'refused', code: 'MISSING_DISCLOSURES', reason, missing });
          }
        }
      }
      await outbox.markSending(record.id, body);
      try {
        const sent = await provider.send({ idempotencyKey: request.idempotencyKey, to: request.to, from: request.from, body });
        await outbox.markSent(record.id, sent.providerMessageId, sent.status);
        return recordOutcome(request, record, { status: 'sent', outboundMessageId: record.id, providerMessageId: sent.providerMessageId, body }, decision);
      } catch (error) {
        if (!(error instanceof ProviderRejectedError)) throw error;
        await outbox.markError(record.id, error.code, error.message, !error.retryable);
        if (error.recipientOptedOut) {
          const reason = `${error.provider} refused: the recipient opted out there (${error.code})`;
          await outbox.markRefused(record.id, 'OPTED_OUT', reason);
          return recordOutcome(request, record, { status: 'refused', code: 'OPTED_OUT', reason, carrierOptOut: true });
        }
        if (!error.retryable) {
          await ledger.append([
            {
              key: `send:${request.idempotencyKey}:failed`,
              contact: request.to,
              event: 'send_failed',
              occurredAt: new Date().toISOString(),
              businessNumber: request.from,
              source: error.code,
              evidence: { type: request.type, program: request.program, outboundMessageId: record.id, body, provider: error.provider, error: error.message },
              workflowId: record.workflowId,
              runId: record.runId,
            },
          ]);
          throw ApplicationFailure.nonRetryable(`${error.provider} refused the message (${error.code}): ${error.message}`, 'ProviderRejected');
        }
        throw error;
      }
    },
  };
}

export type OutboundSendActivities = ReturnType<typeof createOutboundSendActivities>;
