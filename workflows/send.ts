/**
 * One outbound message (id `send:<idempotencyKey>`): the outbound-send activity asks the contact actor and sends;
 * the workflow then tells the contact what happened. A state that cannot be read within the bound is a refusal.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { LedgerActivities } from '../activities/ledger';
import type { OutboundSendActivities, OutboundSendRequest, OutboundSendResult } from '../activities/outbound-send';
import { contactWorkflowId } from './contact-start';
import { stateUnavailableEntry } from './domain/ledger';
import { messageSentSignal, recordOptOutSignal, sendRefusedSignal } from './messages';

/** Each attempt reads the state within seconds; all attempts together within 30 s, then STATE_UNAVAILABLE. */
const SEND_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', nonRetryableErrorTypes: ['UnknownProgram', 'ProviderRejected'] },
};
const sendActivities = proxyActivities<OutboundSendActivities>(SEND_ACTIVITY_OPTIONS);

/** For refusals decided here (the activity never answered), the workflow writes the ledger entry itself. */
const { appendLedgerEntries } = proxyLocalActivities<LedgerActivities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 10 } });

export type SendMessageResult = OutboundSendResult | { status: 'failed'; reason: string };

export async function sendMessageWorkflow(request: OutboundSendRequest): Promise<SendMessageResult> {
  let result: SendMessageResult;
  try {
    result = await sendActivities.sendOutbound.executeWithOptions(
      { ...SEND_ACTIVITY_OPTIONS, summary: `${request.type} message to ${request.to} from ${request.from}` },
      [request],
    );
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && (cause.type === 'ProviderRejected' || cause.type === 'UnknownProgram')) {
      result = { status: 'failed', reason: cause.message };
    } else {
      result = {
        status: 'refused',
        code: 'STATE_UNAVAILABLE',
        reason: `the consent state of ${request.to} could not be read within 30 s; the message was not sent`,
      };
      await recordUnavailable(request, result.reason);
    }
  }
  await tellContact(request, result);
  return result;
}

async function recordUnavailable(request: OutboundSendRequest, reason: string): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  try {
    await appendLedgerEntries([stateUnavailableEntry(request, reason, new Date().toISOString(), { workflowId, runId })]);
  } catch (error) {
    // The refusal stands (nothing was sent); only its ledger line is missing, and the log says so.
    log.error('refusal not recorded in the ledger', { idempotencyKey: request.idempotencyKey, error: String(error) });
  }
}

async function tellContact(request: OutboundSendRequest, result: SendMessageResult): Promise<void> {
  const contact = getExternalWorkflowHandle(contactWorkflowId(request.to));
  const now = new Date().toISOString();
  const about = { idempotencyKey: request.idempotencyKey, from: request.from, type: request.type, program: request.program };
  try {
    if (result.status === 'sent') {
      await contact.signal(messageSentSignal, { ...about, sentAt: now });
    } else if (result.status === 'refused') {
      if (result.carrierOptOut) {
        await contact.signal(recordOptOutSignal, {
          source: 'carrier',
          at: now,
          businessNumber: request.from,
          recordedBy: 'provider',
          reference: result.reason,
        });
      }
      await contact.signal(sendRefusedSignal, { ...about, code: result.code, reason: result.reason.slice(0, 2000), at: now });
    }
  } catch (error) {
    // A contact with no actor has nothing to update (it never texted and holds no consent).
    log.info('contact not told about the send', { contact: request.to, error: String(error) });
  }
}
