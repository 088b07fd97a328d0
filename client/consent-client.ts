/**
 * The typed client library services import: every call validates its input with the shared schemas,
 * then talks to the contact actor (`contact:<E.164>`) through Temporal.
 */
import { randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Pool } from 'pg';
import type { z } from 'zod';
import type { OutboundSendRequest } from '../activities/outbound-send';
import { OutboundMessages, type OutboundMessageRecord } from '../activities/postgres/outbound-messages';
import { ConsentLedger, type HistoryPage } from '../activities/postgres/ledger';
import { InvalidCursorError, OptOutList, type OptOutFilter, type OptOutListEntry, type OptOutPage } from '../activities/postgres/opt-out-list';
import { Programs, type Program } from '../activities/postgres/programs';
import { SuppressionImports, type InvalidImportRow } from '../activities/postgres/suppression-imports';
import { nulByteProblem, parseSuppressionList, SuppressionFileError } from '../activities/suppression/csv';
import { stateUnavailableEntry } from '../workflows/domain/ledger';
import { storableText } from '../workflows/domain/storable';
import { suppressionImportWorkflowId, type SuppressionImportProgress } from '../workflows/domain/suppression-import';
import { suppressionImportWorkflow } from '../workflows/suppression-import';
import { checkConsentEvidence, DEFAULT_CONFIRMATION_KEYWORDS, type ConsentInput, type ConsentRefusalRule, type RecipientLocationInput } from '../workflows/domain/consent-evidence';
import { isKnownRegion, isTimeZone, sendClock, DEFAULT_COMPLIANCE_CLOCK, type ComplianceClockSettings } from '../workflows/domain/compliance-clock';
import { ContactLocations } from '../activities/postgres/contact-locations';
import { SignalBacklog, waitingOptOutDecision, type BacklogEntry } from '../activities/postgres/signal-backlog';
import { parseFrequency } from '../workflows/domain/disclosures';
import { sendMessageWorkflow, type SendMessageResult } from '../workflows/send';
import { contactWorkflow, isStateLoading, type ContactWorkflowSettings } from '../workflows/contact';
import { evaluateSend } from '../workflows/domain/consent-rules';
import { emptyContactState, type ContactState, type OptOutRecord } from '../workflows/domain/contact-state';
import {
  classifyInbound,
  DEFAULT_KEYWORD_SETTINGS,
  keywordSettingsChanges,
  type InboundClassification,
  type KeywordSettings,
  type KeywordSettingsChanges,
} from '../workflows/domain/keywords';
import {
  describeIssues,
  type CanSendRequest,
  type CanSendResult,
  type InboundChannel,
  type InboundMessage,
  type ProviderKeywordReplies,
  type RecordOptOut,
  type SendRefusalCode,
} from '../workflows/domain/schemas';
import {
  applyOptOutUpdate,
  canSendQuery,
  contactStateQuery,
  inboundMessageSignal,
  recordConsentSignal,
  recordOptOutSignal,
  resolveReviewUpdate,
  sendAnswerUpdate,
  suppressionImportProgressQuery,
  type ApplyOptOutResult,
  type ReviewResolution,
} from '../workflows/messages';
import { actorSettings, contactStartOptions, contactWorkflowId } from '../workflows/contact-start';
import { isTemporalUnavailable } from './dependency-errors';
import { edgeSchemas, type EdgeSchemas } from './schemas';

/** Bad input: names each field and why. Nothing was signalled. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(readonly issues: { field: string; message: string }[]) {
    super(`invalid input: ${issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`);
  }
}

/** The contact's state could not be read (no worker, timeout): callers must fail closed. */
export class ContactStateUnavailableError extends Error {
  override readonly name = 'ContactStateUnavailableError';
  constructor(readonly phone: string, cause: unknown) {
    super(`the consent state of ${phone} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface ConsentClientOptions {
  client: Client;
  taskQueue: string;
  /** needed for `listMessages` only */
  pool?: Pool;
  defaultCountry?: string;
  /** passed to each contact actor when it starts (keyword settings, continue-as-new bound) */
  workflowSettings?: ContactWorkflowSettings;
  /** how long a state read may take before it counts as unavailable; default 5 s */
  queryTimeoutMs?: number;
  /** how long sendMessage waits for a decision before refusing with STATE_UNAVAILABLE; default 30 s */
  sendDecisionTimeoutMs?: number;
  /** how long recordOptOut waits for the actor to answer before it queues the opt-out as a signal; default 20 s */
  optOutTimeoutMs?: number;
  /** how long handing a signal to Temporal may take before the edge keeps it in the signal backlog instead; default 5 s */
  signalTimeoutMs?: number;
  /** the compliance clock (consent-rules.md §9) the can-send answer applies; the worker's gate has its own copy */
  clock?: ComplianceClockSettings;
  /** double opt-in (consent-rules.md §10): how long a pending consent waits for its Y (default 30 days) and what confirms it */
  doubleOptIn?: { windowMs?: number; keywords?: string[] };
}

/** One contact in the review queue: its open flags, newest last. */
export interface ReviewQueueEntry {
  contact: string;
  workflowId: string;
  optedOut: boolean;
  flags: ContactState['reviewFlags'];
}

/** What POST /v1/consents answers: recorded (a single opt-in), or pending the contact's confirmation until it expires. */
export interface ConsentRecorded {
  contact: string;
  workflowId: string;
  status: 'recorded' | 'pending_confirmation';
  /** double opt-in: when the pending consent expires unless the contact confirms it */
  expiresAt: string | null;
  /** single opt-in to a program: whether its confirmation text goes out, and why not */
  optInConfirmation: { from: string } | { skipped: string } | null;
}

/** consent-rules.md §10: how long a double opt-in waits for its confirmation by default. */
export const DEFAULT_DOUBLE_OPT_IN_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

export type SendMessageAnswer = SendMessageResult & { idempotencyKey: string; workflowId: string };

/** A consent source that is never consent (consent-rules.md §5): refused with the rule, nothing stored. */
export class ConsentRefusedError extends Error {
  override readonly name = 'ConsentRefusedError';
  constructor(
    readonly rule: ConsentRefusalRule,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The thing asked for does not exist (an import id never submitted). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export interface SuppressionImportReport {
  progress: SuppressionImportProgress;
  workflowId: string;
  /** invalid rows by line, with the reason (the first `limit`) */
  invalidRows: InvalidImportRow[];
  invalidRowsTotal: number;
}

export interface InboundAccepted {
  contact: string;
  workflowId: string;
  message: InboundMessage;
  /** the classification before the contact's state is known (YES acts only when the contact is opted out) */
  classification: InboundClassification;
  /** Temporal could not be reached: the text waits in the signal backlog (an opt-out is listed and in force already) */
  queued?: QueuedSignal;
}

/** A signal the edge kept in Postgres because Temporal could not take it; the backlog's drain delivers it in order. */
export interface QueuedSignal {
  backlogId: string;
  /** an opt-out: on the opt-out list, and every send to the contact refused, from now on */
  optOutInForce: boolean;
  reason: string;
}

/** What only the edge that received a text can say about it: how it arrived, and what its provider answered itself. */
export interface InboundDelivery {
  /** absent: the client library was called directly (`client`) */
  channel?: InboundChannel;
  providerReplies?: ProviderKeywordReplies;
}

const STATE_LOADING_RETRY_MS = 20;
/** How long an opt-out waits for its actor to put it in force (and on the list, which it waits up to 10 s for). */
const DEFAULT_OPT_OUT_TIMEOUT_MS = 20_000;
/** How long a signal may take to reach Temporal before the edge keeps it in the backlog (a webhook's provider waits 15 s). */
const DEFAULT_SIGNAL_TIMEOUT_MS = 5_000;

/** What recording an operator's opt-out did: `in_force` once the actor applied it; `accepted` when it was queued durably. */
export interface OptOutRecorded {
  contact: string;
  workflowId: string;
  status: 'in_force' | 'accepted';
  /** Temporal could not be reached: the opt-out is on the list and in force, and waits in the backlog for the actor */
  queued?: QueuedSignal;
  /** `opted_out`: this record is the opt-out in force; `already_opted_out`: an earlier one is, and stays (add-only) */
  outcome: ApplyOptOutResult['outcome'] | null;
  optOut: OptOutRecord | null;
  /** whether the opt-out list already had it when the actor answered (null: not known) */
  listed: boolean | null;
}

export { contactWorkflowId };

export class ConsentClient {
  readonly schemas: EdgeSchemas;
  private readonly outbox?: OutboundMessages;
  private readonly programStore?: Programs;
  private readonly stores?: { ledger: ConsentLedger; optOutList: OptOutList; imports: SuppressionImports; locations: ContactLocations; backlog: SignalBacklog };

  /** The account's keyword settings, and what of them every inbound signal carries (what differs from the defaults). */
  private readonly keywords: KeywordSettings;
  private readonly keywordChanges: KeywordSettingsChanges;

  constructor(private readonly options: ConsentClientOptions) {
    this.schemas = edgeSchemas(options.defaultCountry ?? 'US');
    this.keywords = options.workflowSettings?.keywords ?? DEFAULT_KEYWORD_SETTINGS;
    this.keywordChanges = keywordSettingsChanges(this.keywords);
    this.outbox = options.pool ? new OutboundMessages(options.pool) : undefined;
    this.programStore = options.pool ? new Programs(options.pool) : undefined;
    const { pool } = options;
    this.stores = pool ? { ledger: new ConsentLedger(pool), optOutList: new OptOutList(pool), imports: new SuppressionImports(pool), locations: new ContactLocations(pool), backlog: new SignalBacklog(pool) } : undefined;
  }

  /** Durably hands one inbound text to its contact's actor, starting the actor if this is the contact's first event. */
  async handleInbound(input: z.input<EdgeSchemas['inboundMessage']>, delivery: InboundDelivery = {}): Promise<InboundAccepted> {
    // The settings travel with the text: the actor reads it with the account's settings of now, not of its first start.
    const message: InboundMessage = {
      ...parse(this.schemas.inboundMessage, input),
      keywords: this.keywordChanges,
      channel: delivery.channel ?? { kind: 'client', key: null },
      ...(delivery.providerReplies ? { providerReplies: delivery.providerReplies } : {}),
    };
    const classification = classifyInbound(message.body, this.keywords);
    // §1: a STOP or a revocation is in force at the door even when Temporal is not there to take it.
    const optOut =
      classification.intent === 'opt_out' || classification.intent === 'revocation'
        ? { at: message.receivedAt, businessNumber: message.to, source: classification.intent === 'opt_out' ? 'keyword' : 'revocation', reference: message.messageId }
        : undefined;
    const { workflowId, queued } = await this.signalOrQueue(message.from, inboundMessageSignal.name, message, optOut);
    return { contact: message.from, workflowId, message, classification, ...(queued ? { queued } : {}) };
  }

  /**
   * Adds an opt-out received by another channel (operator, import, carrier). There is no call that removes one.
   * It answers once the opt-out is in force in the contact's actor (an update, starting the actor if need be), and says
   * whether it is on the opt-out list yet. When the actor cannot answer in time (no worker, Temporal slow), the
   * opt-out is never dropped: it goes in as a durable signal instead, and the answer says it is accepted, not in force.
   */
  async recordOptOut(phone: string, input: z.input<EdgeSchemas['recordOptOut']>): Promise<OptOutRecorded> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    const parsed = parse(this.schemas.recordOptOut, input);
    const record: RecordOptOut = { ...parsed, at: parsed.at ?? new Date().toISOString() };
    const { client, taskQueue, workflowSettings, optOutTimeoutMs = DEFAULT_OPT_OUT_TIMEOUT_MS } = this.options;
    const workflowId = contactWorkflowId(contact);
    try {
      const applied = await client.connection.withDeadline(Date.now() + optOutTimeoutMs, () =>
        client.workflow.executeUpdateWithStart(applyOptOutUpdate, {
          args: [record],
          startWorkflowOperation: new WithStartWorkflowOperation(contactWorkflow, {
            ...contactStartOptions(contact, taskQueue, workflowSettings),
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
      );
      return { contact, workflowId, status: 'in_force', outcome: applied.outcome, optOut: applied.optOut, listed: applied.listed ?? null };
    } catch (error) {
      // The actor's validator refused it: the same schema as the edge's, so this is a record changed in between.
      if (error instanceof WorkflowUpdateFailedError) throw new InvalidInputError([{ field: '(body)', message: error.cause?.message ?? error.message }]);
      const optOut = { at: record.at, businessNumber: record.businessNumber, source: record.source, reference: record.reference };
      const { queued } = await this.signalOrQueue(contact, recordOptOutSignal.name, record, optOut);
      return { contact, workflowId, status: 'accepted', ...(queued ? { queued } : {}), outcome: null, optOut: null, listed: null };
    }
  }

  /**
   * The review queue: contacts with open review flags (NeedsReview, read from Temporal's visibility for this task queue),
   * each with its flagged texts from the actor's state. Visibility is eventually consistent: a flag raised a moment ago
   * may show a second later.
   */
  async listReviews(query: z.input<EdgeSchemas['reviewList']> = {}): Promise<{ reviews: ReviewQueueEntry[] }> {
    const { limit } = parse(this.schemas.reviewList, query);
    const { client, taskQueue } = this.options;
    const reviews: ReviewQueueEntry[] = [];
    const visibility = `WorkflowType = 'contactWorkflow' AND ExecutionStatus = 'Running' AND NeedsReview = true AND TaskQueue = '${taskQueue.replaceAll("'", "''")}'`;
    for await (const workflow of client.workflow.list({ query: visibility, pageSize: Math.min(limit, 100) })) {
      const phone = workflow.workflowId.replace(/^contact:/, '');
      const state = await this.queryContact(phone, (handle) => handle.query(contactStateQuery)).catch(() => undefined);
      if (state && state.reviewFlags.length > 0) {
        reviews.push({ contact: phone, workflowId: workflow.workflowId, optedOut: state.optedOut, flags: state.reviewFlags });
      }
      if (reviews.length >= limit) break;
    }
    return { reviews };
  }

  /** An operator's decision on one review flag (an Update: answered once applied). 404 when the contact has no actor. */
  async resolveReview(input: z.input<EdgeSchemas['resolveReview']>): Promise<ReviewResolution & { contact: string; workflowId: string }> {
    const { phone, ...decision } = parse(this.schemas.resolveReview, input);
    const workflowId = contactWorkflowId(phone);
    try {
      const resolution = await this.options.client.connection.withDeadline(Date.now() + (this.options.queryTimeoutMs ?? 5000) * 4, () =>
        this.options.client.workflow.getHandle(workflowId).executeUpdate(resolveReviewUpdate, { args: [decision] }),
      );
      return { contact: phone, workflowId, ...resolution };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`${phone} has no review flags: the engine never heard from it`);
      if (error instanceof WorkflowUpdateFailedError) throw new InvalidInputError([{ field: '(body)', message: error.cause?.message ?? error.message }]);
      throw new ContactStateUnavailableError(phone, error);
    }
  }

  /** An operator records an opt-out received by another channel (FCC: "any reasonable means"). Add-only. */
  async addOptOut(input: z.input<EdgeSchemas['addOptOut']>): Promise<OptOutRecorded> {
    const { phone, ...record } = parse(this.schemas.addOptOut, input);
    return this.recordOptOut(phone, { ...record, source: 'operator-recorded' });
  }

  /** "Why was this allowed or refused?": the contact's evidence ledger, oldest first, long after Temporal's retention. */
  async getContactHistory(phone: string, page: z.input<EdgeSchemas['history']> = {}): Promise<HistoryPage & { contact: string }> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    const { limit, after } = parse(this.schemas.history, page);
    return { contact, ...(await this.requireStores().ledger.history(contact, { limit, after })) };
  }

  /** The opt-out list (consent-rules.md §7), filtered by source and date range, a page at a time. */
  async listOptOuts(query: z.input<EdgeSchemas['optOutList']> = {}): Promise<OptOutPage> {
    const { limit, cursor, ...filter } = parse(this.schemas.optOutList, query);
    try {
      return await this.requireStores().optOutList.page(toFilter(filter), { limit, cursor });
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new InvalidInputError([{ field: 'cursor', message: error.message }]);
      throw error;
    }
  }

  /** Every entry of the filtered list, for CSV export of any size. */
  exportOptOuts(query: z.input<EdgeSchemas['optOutList']> = {}): AsyncGenerator<OptOutListEntry> {
    const { limit: _limit, cursor: _cursor, ...filter } = parse(this.schemas.optOutList, query);
    return this.requireStores().optOutList.all(toFilter(filter));
  }

  /**
   * Starts a suppression-list import: the file is checked (readable, the column exists) and stored, then a workflow
   * opts out every valid number. The same importId twice is one import.
   */
  async importSuppressionList(
    content: string,
    options: z.input<EdgeSchemas['suppressionImport']>,
  ): Promise<{ importId: string; workflowId: string; created: boolean }> {
    const { column, recordedBy, fileName, importId = randomUUID() } = parse(this.schemas.suppressionImport, options);
    const nul = nulByteProblem(content);
    if (nul) throw new InvalidInputError([{ field: 'file', message: `is not UTF-8 text: ${nul}` }]);
    // A lone surrogate (a string built in code, never decoded bytes) cannot be stored: U+FFFD makes its row invalid.
    content = storableText(content);
    try {
      parseSuppressionList(content, column);
    } catch (error) {
      if (!(error instanceof SuppressionFileError)) throw error;
      const [field, ...rest] = error.message.split(': ');
      throw new InvalidInputError([{ field: field === 'column' ? 'column' : 'file', message: field === 'column' ? rest.join(': ') : error.message }]);
    }
    const { created } = await this.requireStores().imports.create({ id: importId, fileName: fileName ?? null, content, phoneColumn: column ?? null, recordedBy });
    const workflowId = suppressionImportWorkflowId(importId);
    try {
      await this.options.client.workflow.start(suppressionImportWorkflow, {
        workflowId,
        taskQueue: this.options.taskQueue,
        args: [{ importId, contactSettings: actorSettings(this.options.workflowSettings) }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Suppression-list import ${fileName ?? importId} by ${recordedBy}`,
        staticDetails: 'Opts out every valid number of the file through its contact actor (source suppression-import, no SMS). Query `progress`.',
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    return { importId, workflowId, created };
  }

  /** An import's progress (live while it runs), with its invalid rows by line. */
  async getSuppressionImport(importId: string, { invalidRowsLimit = 1000 } = {}): Promise<SuppressionImportReport> {
    const { importId: id } = parse(this.schemas.importParams, { importId });
    const workflowId = suppressionImportWorkflowId(id);
    let progress: SuppressionImportProgress;
    try {
      progress = await this.options.client.workflow.getHandle(workflowId).query(suppressionImportProgressQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`no suppression import ${id}`);
      throw error;
    }
    const invalid = await this.requireStores().imports.invalidRows(id, { limit: invalidRowsLimit });
    return { progress, workflowId, invalidRows: invalid.rows, invalidRowsTotal: invalid.total };
  }

  /** Waits for the import to finish and returns its final counts. */
  async waitForSuppressionImport(importId: string): Promise<SuppressionImportProgress> {
    return this.options.client.workflow.getHandle<typeof suppressionImportWorkflow>(suppressionImportWorkflowId(importId)).result();
  }

  private requireStores() {
    if (!this.stores) throw new Error('ConsentClient needs a Postgres pool for the ledger, the opt-out list and imports');
    return this.stores;
  }

  /** The contact's whole state; a contact the engine never heard of is a contact with no consent, not an error. */
  async getContactState(phone: string): Promise<ContactState> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    return (await this.queryContact(contact, (handle) => handle.query(contactStateQuery))) ?? emptyContactState(contact);
  }

  /** May a message of this type go from this business number to this contact now? Throws rather than guess. */
  async canSend(phone: string, request: z.input<EdgeSchemas['canSend']>): Promise<CanSendResult> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    const { from, type, program: programId } = parse(this.schemas.canSend, request);
    const program = programId ? await this.requireProgram(programId) : undefined;
    const at = new Date().toISOString();
    const recorded = await this.stores?.locations.get(contact);
    const { clock } = sendClock({ phone: contact, type, programQuietHoursTypes: program?.quietHoursTypes ?? null, recorded, at }, this.options.clock ?? DEFAULT_COMPLIANCE_CLOCK);
    const query: CanSendRequest = {
      from,
      type,
      program: program ? { id: program.id, frequencyCap: parseFrequency(program.frequency) ?? null } : null,
      at,
      clock,
    };
    // An opt-out accepted while Temporal was unreachable is in force before its actor hears of it, as the gate says.
    const waiting = await this.stores?.backlog.waitingOptOut(contact);
    if (waiting) return waitingOptOutDecision(contact, waiting.acceptedAt);
    const answer = await this.queryContact(contact, (handle) => handle.query(canSendQuery, query));
    // A contact with no actor has no consent: the same rules on an empty state say so, with their reason.
    return answer ?? evaluateSend(emptyContactState(contact), query, new Date().toISOString());
  }

  /**
   * Sends one message if consent covers it, through a send workflow keyed by the idempotency key: the same key
   * twice sends once and answers the same. The request carries its decision deadline (`sendDecisionTimeoutMs` from
   * now): no provider call begins after it. At the deadline this call fences the outbox row: a send that has not begun
   * is refused (STATE_UNAVAILABLE, and its late attempt finds the row refused); one that has begun is waited for a
   * little longer, then answered truthfully, as OUTCOME_UNKNOWN if nothing confirms it yet.
   */
  async sendMessage(input: z.input<EdgeSchemas['sendMessage']>): Promise<SendMessageAnswer> {
    const parsed = parse(this.schemas.sendMessage, input);
    if (parsed.program) await this.requireProgram(parsed.program);
    const idempotencyKey = parsed.idempotencyKey ?? randomUUID();
    const { client, taskQueue, sendDecisionTimeoutMs = 30_000 } = this.options;
    const request: OutboundSendRequest = { ...parsed, idempotencyKey, decideBy: new Date(Date.now() + sendDecisionTimeoutMs).toISOString() };
    const workflowId = `send:${idempotencyKey}`;
    let handle: WorkflowHandle<typeof sendMessageWorkflow>;
    try {
      handle = await client.workflow.start(sendMessageWorkflow, {
        workflowId,
        taskQueue,
        args: [request],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${parsed.type} message to ${parsed.to} from ${parsed.from}`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      handle = client.workflow.getHandle(workflowId);
    }
    const answered = (result: SendMessageResult): SendMessageAnswer => ({ idempotencyKey, workflowId, ...result });
    // The first answer (a held message answers "held" while it waits); a workflow that already ended has its result.
    const firstAnswer = handle.executeUpdate(sendAnswerUpdate).catch(() => handle.result());
    const outcome = await waitFor(firstAnswer, sendDecisionTimeoutMs);
    if (outcome !== undefined) return answered(outcome);

    const reason = `no consent decision for ${parsed.to} within ${sendDecisionTimeoutMs} ms (is a worker running?); the message was not sent`;
    let fence;
    try {
      fence = await this.requireOutbox().fence(
        { idempotencyKey, contact: parsed.to, businessNumber: parsed.from, kind: 'message', body: parsed.body, provider: 'unknown', inboundMessageId: null, workflowId, runId: null, messageType: parsed.type, program: parsed.program },
        'STATE_UNAVAILABLE',
        reason,
      );
    } catch (error) {
      // The fence could not be written: an attempt may have begun before the database went away. Not "not sent".
      return answered(unknownOutcome(null, `the outcome could not be read (${(error as Error).message}); an attempt may have handed it to the provider`));
    }
    const { record, fenced } = fence;
    if (fenced) {
      await this.stores?.ledger.append([stateUnavailableEntry({ ...parsed, idempotencyKey }, reason, new Date().toISOString(), { workflowId, runId: null })]);
      return answered({ status: 'refused', code: 'STATE_UNAVAILABLE', reason });
    }
    // An attempt settled it first, or got past the fence: then its answer is the truth, and near (a provider call is
    // bounded), so it is waited for a little longer.
    const recorded = (row: OutboundMessageRecord): SendMessageResult | undefined => {
      if (row.status === 'sent' && row.providerMessageId) return { status: 'sent', outboundMessageId: row.id, providerMessageId: row.providerMessageId, body: row.body };
      if (row.status === 'refused') return { status: 'refused', code: row.refusalCode as SendRefusalCode, reason: row.errorMessage ?? '' };
      if (row.status === 'failed') return { status: 'failed', code: row.errorCode ?? 'failed', reason: row.errorMessage ?? '' };
      if (row.status === 'held' && row.heldUntil) return { status: 'held', code: 'QUIET_HOURS', reason: row.errorMessage ?? '', heldUntil: row.heldUntil, outboundMessageId: row.id };
      return undefined;
    };
    const settledFirst = recorded(record);
    if (settledFirst) return answered(settledFirst);
    const late = await waitFor(firstAnswer, SEND_SETTLE_GRACE_MS);
    if (late !== undefined) return answered(late);
    const row = (await this.requireOutbox().findByKey(idempotencyKey).catch(() => undefined)) ?? record;
    return answered(recorded(row) ?? unknownOutcome(row.id, `the send began handing the message to the provider and has not confirmed it yet; GET the message later`));
  }

  /**
   * Records an express (written) consent with its evidence; a source that is never consent is refused (422). A consent
   * to a program is confirmed once by text unless the program switched that off (CTIA 5.1.2.1); a double opt-in stays
   * pending until the contact replies Y/YES to the opt-in request, and expires after the window (consent-rules.md §10).
   */
  async recordConsent(input: z.input<EdgeSchemas['recordConsent']>): Promise<ConsentRecorded> {
    const { phone, confirmation: mode, confirmationFrom, ...parsed } = parse(this.schemas.recordConsent, input);
    const consent: ConsentInput = { ...parsed, grantedAt: parsed.grantedAt ?? new Date().toISOString() };
    const check = checkConsentEvidence(consent);
    if (!check.ok) throw new ConsentRefusedError(check.rule, check.reason);
    if (consent.recipientLocation) checkRecipientLocation(consent.recipientLocation);
    const program = consent.program ? await this.requireProgram(consent.program) : undefined;
    const from = consent.businessNumber ?? confirmationFrom ?? null;
    const doubleOptIn = mode === 'double_opt_in';
    const windowMs = this.options.doubleOptIn?.windowMs ?? DEFAULT_DOUBLE_OPT_IN_WINDOW_MS;
    // A consent to a program is to recurring messages: confirmed once, unless the program says not to.
    const confirm = program !== undefined && program.optInConfirmation;
    consent.confirmation = {
      mode,
      from,
      confirm,
      keywords: this.options.doubleOptIn?.keywords ?? DEFAULT_CONFIRMATION_KEYWORDS,
      expiresAt: doubleOptIn ? new Date(Date.now() + windowMs).toISOString() : null,
    };
    if (consent.recipientLocation && this.stores) {
      const { state, timeZone } = consent.recipientLocation;
      await this.stores.locations.record({ contact: phone, region: state ?? null, timeZone: timeZone ?? null, recordedAt: consent.grantedAt, source: consent.source.kind });
    }
    const workflowId = await this.signalContact(phone, recordConsentSignal.name, consent);
    return {
      contact: phone,
      workflowId,
      status: doubleOptIn ? 'pending_confirmation' : 'recorded',
      expiresAt: consent.confirmation.expiresAt,
      optInConfirmation: doubleOptIn || !program ? null : !confirm ? { skipped: `program ${program.id} has opt-in confirmations switched off` } : from ? { from } : { skipped: 'no business number to send it from: give businessNumber or confirmationFrom' },
    };
  }

  async upsertProgram(input: z.input<EdgeSchemas['program']>): Promise<Program> {
    return this.programs().upsert(parse(this.schemas.program, input));
  }

  async listPrograms(): Promise<Program[]> {
    return this.programs().list();
  }

  private requireOutbox(): OutboundMessages {
    if (!this.outbox) throw new Error('ConsentClient needs a Postgres pool to send messages');
    return this.outbox;
  }

  private programs(): Programs {
    if (!this.programStore) throw new Error('ConsentClient needs a Postgres pool for programs');
    return this.programStore;
  }

  private async requireProgram(id: string): Promise<Program> {
    const program = await this.programs().get(id);
    if (!program) throw new InvalidInputError([{ field: 'program', message: `program "${id}" is not declared (POST /v1/programs)` }]);
    return program;
  }

  /** One message by its idempotency key, as the outbox holds it now: pending, held (until when), sending, sent, refused, failed. */
  async getMessage(idempotencyKey: string): Promise<OutboundMessageRecord> {
    const { idempotencyKey: key } = parse(this.schemas.messageParams, { idempotencyKey });
    const row = await this.requireOutbox().findByKey(key);
    if (!row || row.kind !== 'message') throw new NotFoundError(`no message was sent with idempotency key ${key}`);
    return row;
  }

  /** What the engine sent to this contact, newest first. */
  async listMessages(phone: string, limit = 100): Promise<OutboundMessageRecord[]> {
    if (!this.outbox) throw new Error('ConsentClient needs a Postgres pool to list messages');
    const contact = parse(this.schemas.phone, phone, 'phone');
    return this.outbox.listForContact(contact, limit);
  }

  private async signalContact(phone: string, signal: string, payload: unknown): Promise<string> {
    const { client, taskQueue, workflowSettings, signalTimeoutMs = DEFAULT_SIGNAL_TIMEOUT_MS } = this.options;
    const options = contactStartOptions(phone, taskQueue, workflowSettings);
    await client.connection.withDeadline(Date.now() + signalTimeoutMs, () => client.workflow.signalWithStart(contactWorkflow, { ...options, signal, signalArgs: [payload] }));
    return options.workflowId;
  }

  /**
   * Signals the contact's actor or, when Temporal cannot take the signal (down, unreachable, overloaded), keeps it in
   * the signal backlog, an opt-out listed in the same transaction (§1: fail open on opt-outs). A contact with signals
   * still waiting has this one wait behind them, so its actor hears its texts in order. Only when Postgres cannot keep
   * it either is the error thrown (the API answers 503 and the provider retries).
   */
  private async signalOrQueue(
    contact: string,
    signal: string,
    payload: unknown,
    optOut?: BacklogEntry['optOut'],
  ): Promise<{ workflowId: string; queued?: QueuedSignal }> {
    const workflowId = contactWorkflowId(contact);
    const backlog = this.stores?.backlog;
    // A failing or hung database must neither stop nor delay a text Temporal can take: then it is behind nothing.
    const behind = backlog ? ((await waitFor(backlog.waiting(contact).catch(() => false), BACKLOG_CHECK_TIMEOUT_MS)) ?? false) : false;
    let reason = `earlier signals to ${contact} are waiting in the backlog; this one goes after them`;
    if (!behind) {
      try {
        await this.signalContact(contact, signal, payload);
        return { workflowId };
      } catch (error) {
        if (!backlog || !isTemporalUnavailable(error)) throw error;
        reason = `Temporal could not take the signal (${(error as Error).message}); kept in the signal backlog until it can`;
      }
    }
    const backlogId = await backlog!.add({ contact, taskQueue: this.options.taskQueue, signal, payload, optOut, why: reason });
    this.drainSoon();
    return { workflowId, queued: { backlogId, optOutInForce: optOut !== undefined, reason } };
  }

  private drainTimer?: NodeJS.Timeout;
  /** bumped by every start and stop, so a drain in flight when the loop restarts does not start a second loop */
  private drainGeneration = 0;
  private draining?: Promise<unknown>;
  private lastDrainFailure: string | null = null;
  private drainLog: Pick<Console, 'info' | 'warn'> = console;

  /** Delivers the backlog's waiting signals in order (one drain at a time across processes); how many went, and why it stopped. */
  async drainBacklog(): Promise<{ delivered: number; failed: string | null }> {
    const { backlog } = this.requireStores();
    // Temporal unavailable again: stop, to keep the order. Any other refusal holds back that contact's signals only.
    return backlog.drain(this.options.taskQueue, (row) => this.signalContact(row.contact, row.signal, row.payload).then(() => undefined), isTemporalUnavailable);
  }

  /** Drains every `intervalMs` while the process runs (the API starts it); `stopBacklogDrain` ends it. */
  startBacklogDrain(intervalMs: number, log: Pick<Console, 'info' | 'warn'> = console): void {
    this.drainLog = log;
    clearTimeout(this.drainTimer);
    const generation = ++this.drainGeneration;
    const tick = () => {
      this.drainTimer = setTimeout(() => void this.drainOnce().finally(() => generation === this.drainGeneration && tick()), intervalMs);
    };
    tick();
  }

  async stopBacklogDrain(): Promise<void> {
    this.drainGeneration += 1;
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    await this.draining;
  }

  private drainSoon(): void {
    if (this.drainTimer) void this.drainOnce();
  }

  private drainOnce(): Promise<unknown> {
    this.draining ??= this.drainBacklog()
      .then(
        ({ delivered, failed }) => {
          if (delivered > 0) this.drainLog.info(`signal backlog: ${delivered} delivered to their actors`);
          return failed ? `not delivered, tried again each round: ${failed}` : null;
        },
        (error: unknown) => `could not be read: ${(error as Error).message}`,
      )
      .then((failure) => {
        // Said once per distinct failure: a signal held back is tried every round, and the log is not a ticker.
        if (failure && failure !== this.lastDrainFailure) this.drainLog.warn(`signal backlog: ${failure}`);
        this.lastDrainFailure = failure;
      })
      .finally(() => {
        this.draining = undefined;
      });
    return this.draining;
  }

  /** Runs a query with a deadline; undefined when the contact has no actor yet. */
  private async queryContact<T>(
    phone: string,
    run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ): Promise<T | undefined> {
    const { client, queryTimeoutMs = 5000 } = this.options;
    const handle = client.workflow.getHandle(contactWorkflowId(phone));
    const deadline = Date.now() + queryTimeoutMs;
    for (;;) {
      try {
        return await client.connection.withDeadline(deadline, () => run(handle));
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return undefined;
        // A new run reads the opt-out list first (milliseconds); ask again rather than report it unavailable.
        if (isStateLoading(error) && Date.now() + STATE_LOADING_RETRY_MS < deadline) {
          await new Promise((resolve) => setTimeout(resolve, STATE_LOADING_RETRY_MS));
          continue;
        }
        throw new ContactStateUnavailableError(phone, error);
      }
    }
  }
}

/** How long the check for a contact's waiting signals may take before the text is signalled as if none waited. */
const BACKLOG_CHECK_TIMEOUT_MS = 500;

/** How long a send that got past its fence is still waited for before the answer is OUTCOME_UNKNOWN. */
const SEND_SETTLE_GRACE_MS = 15_000;

function unknownOutcome(outboundMessageId: string | null, reason: string): SendMessageResult {
  return { status: 'unknown', code: 'OUTCOME_UNKNOWN', outboundMessageId: outboundMessageId ?? '', reason };
}

/** The promise's value, or undefined once `ms` passed first (a failed workflow is an answer too: it rethrows). */
async function waitFor<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}

function toFilter(filter: { source?: OptOutFilter['source']; from?: string; to?: string }): OptOutFilter {
  return { source: filter.source, from: filter.from, to: filter.to };
}

/** A recorded location must be one the clock can read: a state the area-code table knows, a zone the runtime knows. */
function checkRecipientLocation(location: RecipientLocationInput): void {
  const issues: { field: string; message: string }[] = [];
  if (location.state !== undefined && !isKnownRegion(location.state)) issues.push({ field: 'recipientLocation.state', message: `"${location.state}" is not a US state, territory or Canadian province code` });
  if (location.timeZone !== undefined && !isTimeZone(location.timeZone)) issues.push({ field: 'recipientLocation.timeZone', message: `"${location.timeZone}" is not an IANA time zone this runtime knows` });
  if (issues.length > 0) throw new InvalidInputError(issues);
}

function parse<S extends z.ZodType>(schema: S, input: unknown, field?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  throw new InvalidInputError(field ? issues.map((issue) => ({ ...issue, field: issue.field === '(body)' ? field : `${field}.${issue.field}` })) : issues);
}
