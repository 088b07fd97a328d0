/**
 * One outbound message (id `send:<idempotencyKey>`): the outbound-send activity runs the send gate (the contact actor
 * decides and reserves, the outbox fences, the provider sends, the actor is told). When no attempt could finish, the
 * gate's last word decides the answer: refused if nothing began, otherwise the truth or OUTCOME_UNKNOWN.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { LedgerActivities } from '../activities/ledger';
import type { OutboundSendActivities, OutboundSendRequest, OutboundSendResult } from '../activities/outbound-send';
import { contactWorkflowId } from './contact-start';
import { stateUnavailableEntry } from './domain/ledger';
import { messageSentSignal, recordOptOutSignal, sendAnswerUpdate, sendRefusedSignal } from './messages';

/** Each attempt reads the state within seconds; all attempts together within 30 s, then STATE_UNAVAILABLE. */
const SEND_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', nonRetryableErrorTypes: ['UnknownProgram', 'ProviderRejected'] },
};
const sendActivities = proxyActivities<OutboundSendActivities>(SEND_ACTIVITY_OPTIONS);

/** For refusals decided here (the activity never answered), the workflow writes the ledger entry itself. */
const { appendLedgerEntries } = proxyLocalActivities<LedgerActivities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 10 } });

/** The gate's last word retries through a database outage: it is what the caller and the ledger are told. */
const { giveUpSend } = proxyActivities<OutboundSendActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

export type SendMessageResult = OutboundSendResult | { status: 'failed'; reason: string };

/**
 * The gate decides, records and tells the contact inside the activity (since corpus v4); unpatched, the send
 * workflows of corpus v1–v3 replay as they ran, telling the contact themselves.
 */
export const EXACT_SEND_GATE_PATCH = 'exact-send-gate';

export async function sendMessageWorkflow(request: OutboundSendRequest): Promise<SendMessageResult> {
  // The first answer, for the caller waiting on sendAnswer: a held message answers "held" and goes on waiting.
  let answer: SendMessageResult | undefined;
  setHandler(sendAnswerUpdate, async () => {
    await condition(() => answer !== undefined);
    return answer!;
  });
  const result = await decideAndSend(request, (first) => {
    answer ??= first;
  });
  answer ??= result;
  await condition(allHandlersFinished);
  return result;
}

/** One run of the send gate's activity (with its retries), summarised for the Web UI. */
function attemptSend(request: OutboundSendRequest): Promise<SendMessageResult> {
  return sendActivities.sendOutbound.executeWithOptions({ ...SEND_ACTIVITY_OPTIONS, summary: `${request.type} message to ${request.to} from ${request.from}` }, [request]);
}

async function decideAndSend(request: OutboundSendRequest, answered: (result: SendMessageResult) => void): Promise<SendMessageResult> {
  if (!patched(EXACT_SEND_GATE_PATCH)) return legacySendMessage(request);
  for (;;) {
    let result: SendMessageResult;
    try {
      result = await attemptSend(request);
    } catch (error) {
      const cause = error instanceof ActivityFailure && error.cause instanceof Error ? error.cause.message : String(error);
      return giveUpSend(request, `no attempt could finish within 30 s: ${cause}`);
    }
    if (result.status !== 'held') return result;
    // §9: a durable timer until the recipient's window opens, then the gate decides again (a STOP meanwhile refuses
    // it). No history before the compliance clock holds a `held` result, so none replays into this branch.
    answered(result);
    const wait = Math.max(0, Date.parse(result.heldUntil) - Date.now());
    await sleep(wait, { summary: `held for quiet hours until ${result.heldUntil}: ${result.reason.slice(0, 200)}` });
  }
}

/** Corpus v1–v3: the activity decided by query, and this workflow recorded an unanswered send and told the contact. */
async function legacySendMessage(request: OutboundSendRequest): Promise<SendMessageResult> {
  let result: SendMessageResult;
  try {
    result = await attemptSend(request);
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
