/**
 * The contact actor: one long-lived workflow per E.164 number (id `contact:<E.164>`), account-wide.
 * Signal handlers apply consent changes synchronously, so a query right after a STOP already sees it;
 * the main loop only sends the replies those changes decided, and rotates the history with continue-as-new.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ReplyActivities, SendReplyRequest } from '../activities/replies';
import { evaluateSend } from './domain/consent-rules';
import { emptyContactState, type ContactState, type OptOutRecord } from './domain/contact-state';
import { classifyInbound, DEFAULT_KEYWORD_SETTINGS, intentFor, type KeywordSettings } from './domain/keywords';
import {
  canSendRequestSchema,
  inboundMessageSchema,
  messageSentSchema,
  recordOptOutSchema,
  sendRefusedSchema,
  describeIssues,
  type CanSendResult,
  type InboundMessage,
  type OptOutSource,
} from './domain/schemas';
import {
  DEDUPE_WINDOW,
  DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
  MAX_PAST_OPT_OUTS,
  MAX_REVIEW_FLAGS,
  MAX_SEND_REFUSALS,
  MAX_SENT_MESSAGES,
  type ReplyKind,
} from './domain/settings';
import { checkConsentEvidence, consentInputSchema } from './domain/consent-evidence';
import {
  canSendQuery,
  contactStateQuery,
  inboundMessageSignal,
  messageSentSignal,
  recordConsentSignal,
  recordOptOutSignal,
  sendRefusedSignal,
} from './messages';
import { needsReviewAttribute, optedOutAttribute, optOutSourceAttribute } from './search-attributes';

export interface ContactWorkflowSettings {
  keywords?: KeywordSettings;
  /** continue-as-new at this history length even before Temporal suggests it (tests set it low) */
  continueAsNewAfterEvents?: number;
}

export interface ContactWorkflowInput {
  phone: string;
  /** carried across continue-as-new; absent on a contact's first run */
  state?: ContactState;
  settings?: ContactWorkflowSettings;
}

/** Error types the reply activity throws that retrying cannot fix. */
export const NON_RETRYABLE_REPLY_ERRORS = ['RecipientOptedOut', 'ProviderRejected'];

/** Replies go to the provider within seconds; a provider outage is retried for a day, then recorded as failed. */
const REPLY_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: NON_RETRYABLE_REPLY_ERRORS },
};
const replyActivities = proxyActivities<ReplyActivities>(REPLY_ACTIVITY_OPTIONS);

const REPLY_LABELS: Record<ReplyKind, string> = {
  opt_out_confirmation: 'opt-out confirmation',
  resubscribe_confirmation: 're-subscribe confirmation',
  help: 'HELP reply',
};

export class ContactActor {
  constructor(
    readonly state: ContactState,
    private readonly keywords: KeywordSettings,
  ) {}

  receiveInbound(raw: unknown): void {
    const parsed = inboundMessageSchema.safeParse(raw);
    if (!parsed.success || parsed.data.from !== this.state.phone) {
      this.rejectSignal('inboundMessage', parsed.success ? `from ${parsed.data.from} is not this contact` : summarise(parsed.error));
      return;
    }
    const message = parsed.data;
    if (this.state.recentMessageIds.includes(message.messageId)) {
      this.state.counts.duplicates += 1;
      log.info('duplicate inbound message ignored', { messageId: message.messageId });
      return;
    }
    this.rememberMessageId(message.messageId);
    this.state.counts.inbound += 1;
    const classification = classifyInbound(message.body, this.keywords);
    const intent = intentFor(classification, this.state.optedOut);
    this.state.lastInbound = { messageId: message.messageId, businessNumber: message.to, intent, receivedAt: message.receivedAt };
    switch (intent) {
      case 'opt_out':
        return this.optOutByText(message, 'keyword');
      case 'revocation':
        return this.optOutByText(message, 'revocation');
      case 'resubscribe':
        return this.resubscribe(message);
      case 'help':
        this.state.counts.helpRequests += 1;
        return this.queueReply('help', message);
      case 'needs_review':
        return this.flagForReview(message, classification.matched);
      case 'message':
        return this.noteConversation(message);
    }
  }

  /** Add-only: an opt-out already in force keeps its original record. */
  recordOptOut(raw: unknown): void {
    const parsed = recordOptOutSchema.safeParse(raw);
    if (!parsed.success) {
      this.rejectSignal('recordOptOut', summarise(parsed.error));
      return;
    }
    if (this.state.optedOut) return;
    const input = parsed.data;
    // No SMS for these: the contact did not text us, so their own first STOP will still be confirmed.
    this.optOut({ ...input, text: null, messageId: null }, false);
  }

  canSend(raw: unknown): CanSendResult {
    const request = canSendRequestSchema.parse(raw);
    return evaluateSend(this.state, request, new Date().toISOString());
  }

  /** Stores a consent with its evidence; an opted-out contact keeps it for when they re-subscribe. */
  recordConsent(raw: unknown): void {
    const parsed = consentInputSchema.safeParse(raw);
    if (!parsed.success) {
      this.rejectSignal('recordConsent', summarise(parsed.error));
      return;
    }
    const consent = parsed.data;
    const check = checkConsentEvidence(consent);
    if (!check.ok) {
      // The edge refuses these with 422 first; a signal sent past it is refused here too, never stored.
      this.state.counts.consentsRefused += 1;
      log.warn('consent refused', { rule: check.rule, reason: check.reason });
      return;
    }
    this.state.consents.push({
      type: consent.type,
      source: consent.source.kind,
      businessNumber: consent.businessNumber,
      messageTypes: consent.messageTypes,
      program: consent.program,
      grantedAt: consent.grantedAt,
      evidence: { ...consent.source },
    });
    this.state.counts.consentsRecorded += 1;
  }

  messageSent(raw: unknown): void {
    const parsed = messageSentSchema.safeParse(raw);
    if (!parsed.success) return this.rejectSignal('messageSent', summarise(parsed.error));
    if (this.state.sentMessages.some((sent) => sent.idempotencyKey === parsed.data.idempotencyKey)) return;
    this.state.sentMessages = [...this.state.sentMessages, parsed.data].slice(-MAX_SENT_MESSAGES);
    this.state.counts.messagesSent += 1;
  }

  sendRefused(raw: unknown): void {
    const parsed = sendRefusedSchema.safeParse(raw);
    if (!parsed.success) return this.rejectSignal('sendRefused', summarise(parsed.error));
    if (this.state.sendRefusals.some((refusal) => refusal.idempotencyKey === parsed.data.idempotencyKey)) return;
    this.state.sendRefusals = [...this.state.sendRefusals, parsed.data].slice(-MAX_SEND_REFUSALS);
    this.state.counts.sendsRefused += 1;
  }

  replyDelivered(): void {
    this.state.counts.repliesSent += 1;
  }

  replyFailed(error: unknown, reply: SendReplyRequest): void {
    this.state.counts.repliesFailed += 1;
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    // consent-rules.md §4 (beyond): the provider says the recipient opted out there, so they are opted out here too.
    if (cause instanceof ApplicationFailure && cause.type === 'RecipientOptedOut' && !this.state.optedOut) {
      this.optOut(
        {
          source: 'carrier',
          at: new Date().toISOString(),
          businessNumber: reply.businessNumber,
          recordedBy: 'provider',
          reference: cause.message,
          note: null,
          text: null,
          messageId: null,
        },
        false,
      );
    }
    log.warn('reply not sent', { kind: reply.kind, idempotencyKey: reply.idempotencyKey, error: String(error) });
  }

  private optOutByText(message: InboundMessage, source: OptOutSource): void {
    if (!this.state.optedOut) {
      this.optOut(
        {
          source,
          at: message.receivedAt,
          businessNumber: message.to,
          text: message.body,
          messageId: message.messageId,
          recordedBy: null,
          reference: null,
          note: null,
        },
        false,
      );
    }
    // consent-rules.md §3: exactly one confirmation per opt-out, on the thread the STOP came in on.
    if (!this.state.optOutConfirmed) {
      this.state.optOutConfirmed = true;
      this.queueReply('opt_out_confirmation', message);
    }
  }

  private optOut(record: OptOutRecord, confirmed: boolean): void {
    this.state.optedOut = true;
    this.state.optOut = record;
    this.state.optOutConfirmed = confirmed;
    this.state.counts.optOuts += 1;
    this.publish();
  }

  private resubscribe(message: InboundMessage): void {
    if (this.state.optedOut && this.state.optOut) {
      this.state.pastOptOuts = [
        ...this.state.pastOptOuts,
        { optOut: this.state.optOut, endedAt: message.receivedAt, endedByMessageId: message.messageId },
      ].slice(-MAX_PAST_OPT_OUTS);
      // The consents held before the opt-out were never deleted, so lifting the flag restores them.
      this.state.optedOut = false;
      this.state.optOut = null;
      this.state.optOutConfirmed = false;
      this.state.counts.resubscribes += 1;
      this.publish();
    }
    // A START from a subscribed contact changes nothing and is answered once with the same text.
    this.queueReply('resubscribe_confirmation', message);
  }

  private flagForReview(message: InboundMessage, matched: string | null): void {
    this.state.counts.reviewFlags += 1;
    this.state.reviewFlags = [
      ...this.state.reviewFlags,
      { messageId: message.messageId, businessNumber: message.to, body: message.body, matched, receivedAt: message.receivedAt },
    ].slice(-MAX_REVIEW_FLAGS);
    this.publish();
  }

  private noteConversation(message: InboundMessage): void {
    // An opted-out contact's ordinary reply grants nothing: only START lifts the opt-out.
    if (this.state.optedOut) return;
    const thread = this.state.threads.find((t) => t.businessNumber === message.to);
    if (thread) {
      thread.lastInboundAt = message.receivedAt;
      thread.inboundCount += 1;
    } else {
      this.state.threads.push({
        businessNumber: message.to,
        firstInboundAt: message.receivedAt,
        lastInboundAt: message.receivedAt,
        firstMessageId: message.messageId,
        inboundCount: 1,
      });
    }
  }

  private queueReply(kind: ReplyKind, message: InboundMessage): void {
    this.state.pendingReplies.push({
      kind,
      idempotencyKey: `reply:${kind}:${message.messageId}`,
      businessNumber: message.to,
      inboundMessageId: message.messageId,
    });
  }

  private rememberMessageId(messageId: string): void {
    this.state.recentMessageIds.push(messageId);
    if (this.state.recentMessageIds.length > DEDUPE_WINDOW) {
      this.state.recentMessageIds.splice(0, this.state.recentMessageIds.length - DEDUPE_WINDOW);
    }
  }

  private rejectSignal(signal: string, why: string): void {
    this.state.counts.rejectedSignals += 1;
    log.warn('signal payload rejected; state unchanged', { signal, why });
  }

  /** Keeps the Web UI's view current: search attributes for finding the contact, details for reading it. */
  publish(): void {
    const { optedOut, optOut, reviewFlags } = this.state;
    upsertSearchAttributes([
      { key: optedOutAttribute, value: optedOut },
      { key: needsReviewAttribute, value: reviewFlags.length > 0 },
      { key: optOutSourceAttribute, value: optOut?.source ?? null },
    ]);
    setCurrentDetails(
      optedOut && optOut
        ? `**Opted out** since ${optOut.at} (source: ${optOut.source}${optOut.businessNumber ? `, on ${optOut.businessNumber}` : ''})`
        : `Subscribed. Threads: ${this.state.threads.map((t) => t.businessNumber).join(', ') || 'none'}. Review flags: ${reviewFlags.length}`,
    );
  }
}

function summarise(error: Parameters<typeof describeIssues>[0]): string {
  return describeIssues(error).map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}

export async function contactWorkflow(input: ContactWorkflowInput): Promise<void> {
  const settings = input.settings ?? {};
  const actor = new ContactActor(input.state ?? emptyContactState(input.phone), settings.keywords ?? DEFAULT_KEYWORD_SETTINGS);
  const { state } = actor;
  setHandler(inboundMessageSignal, (message) => actor.receiveInbound(message));
  setHandler(recordOptOutSignal, (record) => actor.recordOptOut(record));
  setHandler(recordConsentSignal, (consent) => actor.recordConsent(consent));
  setHandler(messageSentSignal, (sent) => actor.messageSent(sent));
  setHandler(sendRefusedSignal, (refusal) => actor.sendRefused(refusal));
  setHandler(contactStateQuery, () => state);
  setHandler(canSendQuery, (request) => actor.canSend(request));
  actor.publish();

  const continueAsNewAfter = settings.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS;
  const rotationDue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= continueAsNewAfter;

  for (;;) {
    await condition(() => state.pendingReplies.length > 0 || rotationDue());
    // Replies go out in the order they were decided, each exactly once (idempotency key from the inbound id).
    while (state.pendingReplies.length > 0) {
      const pending = state.pendingReplies[0]!;
      const reply: SendReplyRequest = { ...pending, contact: state.phone };
      try {
        await replyActivities.sendReply.executeWithOptions(
          { ...REPLY_ACTIVITY_OPTIONS, summary: `${REPLY_LABELS[reply.kind]} to ${state.phone} from ${reply.businessNumber}` },
          [reply],
        );
        actor.replyDelivered();
      } catch (error) {
        actor.replyFailed(error, reply);
      }
      state.pendingReplies.shift();
    }
    if (rotationDue()) {
      await condition(allHandlersFinished);
      if (state.pendingReplies.length === 0) {
        await continueAsNew<typeof contactWorkflow>({ phone: state.phone, state, settings });
      }
    }
  }
}
