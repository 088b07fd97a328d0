/**
 * The outbound-send activity: asks the contact actor (`canSend` query) whether the message may go, checks the
 * first-message disclosures, then sends through the provider. Every decision is recorded in the outbox.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { evaluateSend } from '../workflows/domain/consent-rules';
import { emptyContactState } from '../workflows/domain/contact-state';
import { appendDisclosures, missingDisclosures, parseFrequency, type Disclosure } from '../workflows/domain/disclosures';
import type { CanSendRequest, CanSendResult, MessageType, SendRefusalCode } from '../workflows/domain/schemas';
import type { AccountProfile } from '../workflows/domain/settings';
import { canSendQuery } from '../workflows/messages';
import type { OutboundMessages } from './postgres/outbound-messages';
import type { Programs } from './postgres/programs';
import { ProviderRejectedError, type SmsProvider } from './providers/provider';

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
}

export function createOutboundSendActivities({ client, outbox, programs, provider, profile }: OutboundSendDependencies) {
  async function readDecision(contact: string, request: CanSendRequest): Promise<CanSendResult> {
    const handle = client.workflow.getHandle(`contact:${contact}`);
    try {
      return await client.connection.withDeadline(Date.now() + STATE_QUERY_TIMEOUT_MS, () => handle.query(canSendQuery, request));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return evaluateSend(emptyContactState(contact), request, new Date().toISOString());
      // Fail closed: no answer is never "allowed". Temporal retries this attempt within the workflow's bound.
      throw ApplicationFailure.retryable(`the consent state of ${contact} could not be read: ${(error as Error).message}`, 'StateUnavailable');
    }
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
        return { status: 'sent', outboundMessageId: record.id, providerMessageId: record.providerMessageId, body: record.body };
      }
      if (record.status === 'refused') {
        return { status: 'refused', code: record.refusalCode as SendRefusalCode, reason: record.errorMessage ?? '' };
      }
      let body = record.body;
      // 'sending': an earlier attempt decided to send and may have reached the provider; resend the same, undecided again.
      if (record.status !== 'sending') {
        const frequencyCap = program ? (parseFrequency(program.frequency) ?? null) : null;
        const decision = await readDecision(request.to, {
          from: request.from,
          type: request.type,
          program: program ? { id: program.id, frequencyCap } : null,
          at: new Date().toISOString(),
        });
        if (!decision.allowed) {
          const code = decision.code as SendRefusalCode;
          await outbox.markRefused(record.id, code, decision.reason);
          return { status: 'refused', code, reason: decision.reason };
        }
        // §6: the first business-initiated message carries the five disclosures; conversational replies are exempt.
        if (request.type !== 'conversational' && decision.firstBusinessMessage) {
          const missing = missingDisclosures(body, facts);
          if (missing.length > 0 && request.appendDisclosures) {
            body = appendDisclosures(body, facts);
          } else if (missing.length > 0) {
            const reason = `the first message to ${request.to} must carry ${missing.map((m) => DISCLOSURE_NAMES[m]).join(', ')} (consent-rules.md §6); send with appendDisclosures to add a compliant footer`;
            await outbox.markRefused(record.id, 'MISSING_DISCLOSURES', reason);
            return { status: 'refused', code: 'MISSING_DISCLOSURES', reason, missing };
          }
        }
      }
      await outbox.markSending(record.id, body);
      try {
        const sent = await provider.send({ idempotencyKey: request.idempotencyKey, to: request.to, from: request.from, body });
        await outbox.markSent(record.id, sent.providerMessageId, sent.status);
        return { status: 'sent', outboundMessageId: record.id, providerMessageId: sent.providerMessageId, body };
      } catch (error) {
        if (!(error instanceof ProviderRejectedError)) throw error;
        await outbox.markError(record.id, error.code, error.message, !error.retryable);
        if (error.recipientOptedOut) {
          const reason = `${error.provider} refused: the recipient opted out there (${error.code})`;
          await outbox.markRefused(record.id, 'OPTED_OUT', reason);
          return { status: 'refused', code: 'OPTED_OUT', reason, carrierOptOut: true };
        }
        if (!error.retryable) {
          throw ApplicationFailure.nonRetryable(`${error.provider} refused the message (${error.code}): ${error.message}`, 'ProviderRejected');
        }
        throw error;
      }
    },
  };
}

export type OutboundSendActivities = ReturnType<typeof createOutboundSendActivities>;
