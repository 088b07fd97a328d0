/**
 * The send gate: every business message goes through it, one send at a time or a campaign's batch. It claims the
 * outbox row, asks the contact actor to decide and reserve the send (`reserveSend`, an Update: the cap and the
 * decision in one step), fences the row against a caller that stopped waiting, and only then calls the provider.
 * Every outcome is recorded in the outbox and the ledger, and told to the actor. README, "Sending", says why.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { evaluateSend } from '../workflows/domain/consent-rules';
import { emptyContactState } from '../workflows/domain/contact-state';
import { appendDisclosures, missingDisclosures, parseFrequency, type Disclosure } from '../workflows/domain/disclosures';
import type { LedgerEntry } from '../workflows/domain/ledger';
import type { CanSendResult, MessageType, ReserveSendRequest, SendRefusalCode } from '../workflows/domain/schemas';
import type { AccountProfile } from '../workflows/domain/settings';
import { isStateLoading } from '../workflows/contact';
import { contactWorkflowId } from '../workflows/contact-start';
import { messageSentSignal, recordOptOutSignal, releaseSendSignal, reserveSendUpdate, sendRefusedSignal } from '../workflows/messages';
import type { ConsentLedger } from './postgres/ledger';
import type { OptOutList } from './postgres/opt-out-list';
import type { NewOutboundMessage, OutboundMessageRecord, OutboundMessages } from './postgres/outbound-messages';
import type { Programs } from './postgres/programs';
import { ProviderRejectedError, type OutboundSms, type SmsProvider } from './providers/provider';
import { DEFAULT_COMPLIANCE_CLOCK, sendClock, type ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import { waitingOptOutDecision, type SignalBacklog } from './postgres/signal-backlog';
import type { ContactLocations } from './postgres/contact-locations';
import { toOptOutRecord } from './postgres/opt-out-list';

export interface OutboundSendRequest {
  idempotencyKey: string;
  to: string;
  from: string;
  body: string;
  type: MessageType;
  program: string | null;
  appendDisclosures: boolean;
  /**
   * The caller's decision deadline (ISO): no provider call begins after it, by the database's clock. The single-send
   * API sets it to when it stops waiting and answers STATE_UNAVAILABLE; absent: no deadline (a campaign's sends).
   */
  decideBy?: string;
  /** a promotional message due in the recipient's quiet hours: held until the window opens (default) or refused */
  onQuietHours?: 'hold' | 'refuse';
}

export type OutboundSendResult =
  | { status: 'sent'; outboundMessageId: string; providerMessageId: string; body: string }
  | { status: 'refused'; code: SendRefusalCode; reason: string; missing?: Disclosure[]; carrierOptOut?: boolean; nextAllowedAt?: string }
  /** due in the recipient's quiet hours: not sent, decided again when the window opens (a STOP meanwhile refuses it) */
  | { status: 'held'; code: 'QUIET_HOURS'; reason: string; heldUntil: string; outboundMessageId: string }
  /** the provider refused the message for good (not an opt-out): it was not sent */
  | { status: 'failed'; code: string; reason: string }
  /** decided and possibly handed to the provider, and no attempt could confirm which: never reported as "not sent" */
  | { status: 'unknown'; code: 'OUTCOME_UNKNOWN'; reason: string; outboundMessageId: string };

/** The workflow execution a send belongs to, for the outbox and the ledger (null outside one). */
export interface SendExecution {
  workflowId: string | null;
  runId: string | null;
}

export interface SendGate {
  /** Decides (reserving the cap), sends, records and tells the actor. Returns every final outcome; throws only what a retry can fix. */
  send(request: OutboundSendRequest, execution: SendExecution): Promise<OutboundSendResult>;
  /** The last word on a send whose attempts ran out: refused STATE_UNAVAILABLE if it never began, else the truth or OUTCOME_UNKNOWN. */
  giveUp(request: OutboundSendRequest, execution: SendExecution, reason: string): Promise<OutboundSendResult>;
}

/** How long one decision (the actor's reserveSend) may take before this attempt fails and is retried. */
const DECISION_TIMEOUT_MS = 5000;
/** A resend asks the provider about messages from a little before the earlier attempt began (clock skew). */
const LOOKUP_MARGIN_MS = 60_000;

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
  /** consent-rules.md §9: where each contact is (a recorded state or zone), and the account's clock settings */
  locations: ContactLocations;
  /** opt-outs the edge accepted while Temporal was unreachable, not yet in the contact's actor */
  backlog: SignalBacklog;
  clock?: ComplianceClockSettings;
}

export function createSendGate({ client, outbox, programs, provider, profile, ledger, optOutList, locations, backlog, clock = DEFAULT_COMPLIANCE_CLOCK }: OutboundSendDependencies): SendGate {
  /** The actor decides and reserves in one step; a contact with no actor has no consent, and the opt-out list speaks for it. */
  async function reserve(contact: string, request: ReserveSendRequest): Promise<CanSendResult> {
    // An opt-out the edge accepted while Temporal was unreachable is in force before its actor hears of it (§1).
    const waiting = await backlog.waitingOptOut(contact);
    if (waiting) return waitingOptOutDecision(contact, waiting.acceptedAt);
    const handle = client.workflow.getHandle(contactWorkflowId(contact));
    const deadline = Date.now() + DECISION_TIMEOUT_MS;
    try {
      return await client.connection.withDeadline(deadline, () => handle.executeUpdate(reserveSendUpdate, { args: [request] }));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        const listed = await optOutList.get(contact);
        const state = emptyContactState(contact);
        if (listed) Object.assign(state, { optedOut: true, optOut: toOptOutRecord(listed) });
        return evaluateSend(state, request, new Date().toISOString());
      }
      // Fail closed: no answer is never "allowed". The caller's retries are bounded by its own deadline.
      const why = isStateLoading(error) ? 'the actor is still loading' : (error as Error).message;
      throw ApplicationFailure.retryable(`the consent state of ${contact} could not be read: ${why}`, 'StateUnavailable');
    }
  }

  /** Tells the actor what became of a send: confirmed (or presumed) sent, refused, or released. Best effort. */
  async function tellContact(request: OutboundSendRequest, result: OutboundSendResult): Promise<void> {
    const contact = client.workflow.getHandle(contactWorkflowId(request.to));
    const now = new Date().toISOString();
    const about = { idempotencyKey: request.idempotencyKey, from: request.from, type: request.type, program: request.program };
    try {
      if (result.status === 'sent' || result.status === 'unknown') {
        // An unknown outcome counts as sent: a cap slot is never freed on a guess.
        await contact.signal(messageSentSignal, { ...about, sentAt: now });
      } else if (result.status === 'refused') {
        if (result.carrierOptOut) {
          await contact.signal(recordOptOutSignal, { source: 'carrier', at: now, businessNumber: request.from, recordedBy: 'provider', reference: result.reason });
        }
        await contact.signal(sendRefusedSignal, { ...about, code: result.code, reason: result.reason.slice(0, 2000), at: now });
      } else if (result.status === 'failed') {
        await contact.signal(releaseSendSignal, { idempotencyKey: request.idempotencyKey, reason: result.reason.slice(0, 2000) });
      }
      // Held: the actor reserved nothing for it, and decides it again when the window opens.
    } catch (error) {
      // A contact with no actor has nothing to settle (it never texted and holds no consent, so nothing was reserved).
      if (!(error instanceof WorkflowNotFoundError)) log.warn('contact not told about the send', { contact: request.to, error: String(error) });
    }
  }

  /** §8: every send outcome goes to the ledger, keyed by the send, whatever the contact (even one with no actor). */
  async function record(request: OutboundSendRequest, row: OutboundMessageRecord, result: OutboundSendResult, decision?: CanSendResult): Promise<OutboundSendResult> {
    await ledger.append([outcomeEntry(request, row, result, decision)]);
    await tellContact(request, result);
    // The activity logger adds workflowId, activityType and attempt to each line.
    log.info(`send ${result.status}`, {
      contact: request.to,
      businessNumber: request.from,
      messageType: request.type,
      ...(result.status === 'sent' ? { providerMessageId: result.providerMessageId } : { code: result.code }),
      ...(result.status === 'held' ? { heldUntil: result.heldUntil } : {}),
    });
    return result;
  }

  /** What the outbox already settled for this key: the same answer again, recorded again (keyed, never doubled). */
  function settled(row: OutboundMessageRecord): OutboundSendResult | undefined {
    if (row.status === 'sent' && row.providerMessageId) return { status: 'sent', outboundMessageId: row.id, providerMessageId: row.providerMessageId, body: row.body };
    if (row.status === 'refused') return { status: 'refused', code: row.refusalCode as SendRefusalCode, reason: row.errorMessage ?? '' };
    if (row.status === 'failed') return { status: 'failed', code: row.errorCode ?? 'failed', reason: row.errorMessage ?? '' };
    // `held` is not settled: the hold ended (or is being checked), and the message is decided again.
    return undefined;
  }

  /**
   * §9: a message due in quiet hours waits in the outbox as held, with no caller deadline any more (the caller was
   * answered "held"); a caller that fenced the row first keeps its answer.
   */
  async function hold(request: OutboundSendRequest, row: OutboundMessageRecord, decision: CanSendResult): Promise<OutboundSendResult> {
    const heldUntil = decision.nextAllowedAt!;
    if (!(await outbox.markHeld(row.id, heldUntil, decision.reason))) {
      const current = (await outbox.findByKey(request.idempotencyKey)) ?? row;
      const outcome = settled(current);
      if (outcome) return record(request, current, outcome);
      return refuse(request, current, 'STATE_UNAVAILABLE', `no provider call began before the caller's decision deadline (${request.decideBy}); the message was not sent`);
    }
    return record(request, row, { status: 'held', code: 'QUIET_HOURS', reason: decision.reason, heldUntil, outboundMessageId: row.id });
  }

  /** An earlier attempt began handing this message over: whether the provider has it (then it was sent, whatever came since). */
  async function lookUpEarlierAttempt(request: OutboundSendRequest, row: OutboundMessageRecord): Promise<OutboundSendResult | undefined> {
    if (row.status !== 'sending' || !row.sendingSince) return undefined;
    const message: OutboundSms = { idempotencyKey: request.idempotencyKey, to: request.to, from: request.from, body: row.body };
    let found;
    try {
      found = await provider.findSent(message, new Date(Date.parse(row.sendingSince) - LOOKUP_MARGIN_MS));
    } catch (error) {
      // Not knowing is not "not sent": this attempt fails, and a later one asks again.
      throw ApplicationFailure.retryable(`could not ask ${provider.name} whether an earlier attempt sent ${request.idempotencyKey}: ${(error as Error).message}`, 'ProviderLookupFailed');
    }
    if (!found) return undefined;
    await outbox.markSent(row.id, found.providerMessageId, found.status);
    log.info('an earlier attempt had sent it: found at the provider, not sent again', { contact: request.to, providerMessageId: found.providerMessageId });
    return { status: 'sent', outboundMessageId: row.id, providerMessageId: found.providerMessageId, body: row.body };
  }

  function outboxRow(request: OutboundSendRequest, execution: SendExecution): NewOutboundMessage {
    return {
      idempotencyKey: request.idempotencyKey,
      contact: request.to,
      businessNumber: request.from,
      kind: 'message',
      body: request.body,
      provider: provider.name,
      inboundMessageId: null,
      workflowId: execution.workflowId,
      runId: execution.runId,
      messageType: request.type,
      program: request.program,
      decideBy: request.decideBy ?? null,
    };
  }

  async function refuse(request: OutboundSendRequest, row: OutboundMessageRecord, code: SendRefusalCode, reason: string, extra: { missing?: Disclosure[]; carrierOptOut?: boolean; nextAllowedAt?: string } = {}) {
    await outbox.markRefused(row.id, code, reason);
    // A caller that fenced the row first was told its refusal: that one stands.
    const current = (await outbox.findByKey(request.idempotencyKey)) ?? row;
    const result = current.status === 'refused' && current.refusalCode !== code ? settled(current)! : { status: 'refused' as const, code, reason, ...extra };
    return record(request, current, result);
  }

  return {
    async send(request, execution) {
      const program = request.program ? await programs.get(request.program) : undefined;
      const row = await outbox.claim(outboxRow(request, execution));
      const already = settled(row);
      if (already) return record(request, row, already);
      if (request.program && !program) {
        const reason = `program ${request.program} is not declared`;
        await outbox.markError(row.id, 'UNKNOWN_PROGRAM', reason, true);
        return record(request, row, { status: 'failed', code: 'UNKNOWN_PROGRAM', reason });
      }
      // A resend never doubles a message silently: what an earlier attempt may have handed over is asked about first.
      const earlier = await lookUpEarlierAttempt(request, row);
      if (earlier) return record(request, row, earlier);

      // Every attempt decides again, just before the provider: a STOP accepted since any earlier attempt refuses it.
      const facts = program
        ? { businessName: program.businessName, description: program.description, frequency: program.frequency }
        : { businessName: profile.businessName, description: profile.programDescription, frequency: profile.messageFrequency };
      const at = new Date().toISOString();
      // §9: the recipient's local time is read here (outside the workflow), and the actor counts the state limit.
      const recorded = await locations.get(request.to);
      const { clock: sendClockPart } = sendClock({ phone: request.to, type: request.type, programQuietHoursTypes: program?.quietHoursTypes ?? null, recorded, at }, clock);
      const decision = await reserve(request.to, {
        idempotencyKey: request.idempotencyKey,
        from: request.from,
        type: request.type,
        program: program ? { id: program.id, frequencyCap: parseFrequency(program.frequency) ?? null } : null,
        at,
        clock: sendClockPart,
      });
      if (!decision.allowed && decision.code === 'QUIET_HOURS' && request.onQuietHours !== 'refuse') return hold(request, row, decision);
      if (!decision.allowed) {
        return refuse(request, row, decision.code as SendRefusalCode, decision.reason, decision.nextAllowedAt ? { nextAllowedAt: decision.nextAllowedAt } : {});
      }

      // §6: the first business-initiated message carries the five disclosures; conversational replies are exempt.
      let body = request.body;
      if (request.type !== 'conversational' && decision.firstBusinessMessage) {
        const missing = missingDisclosures(body, facts);
        if (missing.length > 0 && request.appendDisclosures) {
          body = appendDisclosures(body, facts);
        } else if (missing.length > 0) {
          const reason = `the first message to ${request.to} must carry ${missing.map((m) => DISCLOSURE_NAMES[m]).join(', ')} (consent-rules.md §6); send with appendDisclosures to add a compliant footer`;
          return refuse(request, row, 'MISSING_DISCLOSURES', reason, { missing });
        }
      }

      // The fence: a caller that stopped waiting refused the row, or its deadline passed; then nothing goes out.
      if (!(await outbox.beginSending(row.id, body))) {
        const current = (await outbox.findByKey(request.idempotencyKey)) ?? row;
        const outcome = settled(current);
        if (outcome) return record(request, current, outcome);
        return refuse(request, current, 'STATE_UNAVAILABLE', `no provider call began before the caller's decision deadline (${request.decideBy}); the message was not sent`);
      }
      try {
        const sent = await provider.send({ idempotencyKey: request.idempotencyKey, to: request.to, from: request.from, body });
        // If this write fails the row stays `sending`, and the retry finds the message at the provider (lookUpEarlierAttempt).
        await outbox.markSent(row.id, sent.providerMessageId, sent.status);
        return record(request, row, { status: 'sent', outboundMessageId: row.id, providerMessageId: sent.providerMessageId, body }, decision);
      } catch (error) {
        if (!(error instanceof ProviderRejectedError)) throw error;
        await outbox.markError(row.id, error.code, error.message, !error.retryable && !error.recipientOptedOut);
        if (error.recipientOptedOut) {
          return refuse(request, row, 'OPTED_OUT', `${error.provider} refused: the recipient opted out there (${error.code})`, { carrierOptOut: true });
        }
        if (error.retryable) throw error;
        return record(request, row, { status: 'failed', code: error.code, reason: `${error.provider} refused the message (${error.code}): ${error.message}` });
      }
    },

    async giveUp(request, execution, reason) {
      const { record: row, fenced } = await outbox.fence(outboxRow(request, execution), 'STATE_UNAVAILABLE', reason);
      if (fenced) return record(request, row, { status: 'refused', code: 'STATE_UNAVAILABLE', reason });
      const outcome = settled(row) ?? (await lookUpEarlierAttempt(request, row).catch(() => undefined));
      if (outcome) return record(request, row, outcome);
      return record(request, row, {
        status: 'unknown',
        code: 'OUTCOME_UNKNOWN',
        outboundMessageId: row.id,
        reason: `an attempt began handing the message to ${provider.name} and none could confirm whether it was accepted (${reason}); it may have been sent`,
      });
    },
  };
}

/** The ledger entry of one send outcome, keyed by the send and its outcome. */
function outcomeEntry(request: OutboundSendRequest, row: OutboundMessageRecord, result: OutboundSendResult, decision?: CanSendResult): LedgerEntry {
  const about = { type: request.type, program: request.program, outboundMessageId: row.id };
  const base = { contact: request.to, occurredAt: new Date().toISOString(), businessNumber: request.from, workflowId: row.workflowId, runId: row.runId };
  switch (result.status) {
    case 'sent':
      return {
        ...base,
        key: `send:${request.idempotencyKey}:sent`,
        event: 'message_sent',
        source: request.type,
        evidence: { ...about, body: result.body, providerMessageId: result.providerMessageId, allowedBecause: decision?.reason ?? null },
      };
    case 'refused':
      return {
        ...base,
        key: `send:${request.idempotencyKey}:refused`,
        event: 'send_refused',
        source: result.code,
        evidence: { ...about, body: row.body, reason: result.reason, missing: result.missing ?? null, ...(result.nextAllowedAt ? { nextAllowedAt: result.nextAllowedAt } : {}) },
      };
    case 'held':
      // One entry per hold: a message held again (its window closed once more before it went) adds another.
      return { ...base, key: `send:${request.idempotencyKey}:held:${result.heldUntil}`, event: 'send_held', source: result.code, evidence: { ...about, body: row.body, reason: result.reason, heldUntil: result.heldUntil } };
    case 'failed':
      return { ...base, key: `send:${request.idempotencyKey}:failed`, event: 'send_failed', source: result.code, evidence: { ...about, body: row.body, provider: row.provider, error: result.reason } };
    case 'unknown':
      return { ...base, key: `send:${request.idempotencyKey}:unknown`, event: 'send_outcome_unknown', source: result.code, evidence: { ...about, body: row.body, provider: row.provider, reason: result.reason } };
  }
}

/** The outbound-send activities the send workflow runs; the gate does the work. */
export function createOutboundSendActivities(dependencies: OutboundSendDependencies) {
  const gate = createSendGate(dependencies);
  const execution = (): SendExecution => {
    const info = Context.current().info.workflowExecution;
    return { workflowId: info?.workflowId ?? null, runId: info?.runId ?? null };
  };
  return {
    /** One attempt of one send: a final outcome, or a failure a retry can fix. */
    async sendOutbound(request: OutboundSendRequest): Promise<OutboundSendResult> {
      return gate.send(request, execution());
    },
    /** The send workflow's last word when every attempt failed: refused if none began handing it over, else the truth or OUTCOME_UNKNOWN. */
    async giveUpSend(request: OutboundSendRequest, reason: string): Promise<OutboundSendResult> {
      return gate.giveUp(request, execution(), reason);
    },
  };
}

export type OutboundSendActivities = ReturnType<typeof createOutboundSendActivities>;
