/**
 * The typed client library services import: every call validates its input with the shared schemas,
 * then talks to the contact actor (`contact:<E.164>`) through Temporal.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { OutboundMessages, type OutboundMessageRecord } from '../activities/postgres/outbound-messages';
import { contactWorkflow, type ContactWorkflowSettings } from '../workflows/contact';
import { emptyContactState, type ContactState } from '../workflows/domain/contact-state';
import { classifyInbound, type InboundClassification } from '../workflows/domain/keywords';
import { describeIssues, type CanSendResult, type InboundMessage, type RecordOptOut } from '../workflows/domain/schemas';
import { canSendQuery, contactStateQuery, inboundMessageSignal, recordOptOutSignal } from '../workflows/messages';
import { contactPhoneAttribute, needsReviewAttribute, optedOutAttribute } from '../workflows/search-attributes';
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
}

export interface InboundAccepted {
  contact: string;
  workflowId: string;
  message: InboundMessage;
  /** the classification before the contact's state is known (YES acts only when the contact is opted out) */
  classification: InboundClassification;
}

export function contactWorkflowId(phone: string): string {
  return `contact:${phone}`;
}

export class ConsentClient {
  readonly schemas: EdgeSchemas;
  private readonly outbox?: OutboundMessages;

  constructor(private readonly options: ConsentClientOptions) {
    this.schemas = edgeSchemas(options.defaultCountry ?? 'US');
    this.outbox = options.pool ? new OutboundMessages(options.pool) : undefined;
  }

  /** Durably hands one inbound text to its contact's actor, starting the actor if this is the contact's first event. */
  async handleInbound(input: z.input<EdgeSchemas['inboundMessage']>): Promise<InboundAccepted> {
    const parsed = parse(this.schemas.inboundMessage, input);
    const message: InboundMessage = { ...parsed, receivedAt: parsed.receivedAt ?? new Date().toISOString() };
    const workflowId = await this.signalContact(message.from, inboundMessageSignal.name, message);
    const classification = classifyInbound(message.body, this.options.workflowSettings?.keywords);
    return { contact: message.from, workflowId, message, classification };
  }

  /** Adds an opt-out received by another channel (operator, import, carrier). There is no call that removes one. */
  async recordOptOut(phone: string, input: z.input<EdgeSchemas['recordOptOut']>): Promise<{ contact: string; workflowId: string }> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    const parsed = parse(this.schemas.recordOptOut, input);
    const record: RecordOptOut = { ...parsed, at: parsed.at ?? new Date().toISOString() };
    const workflowId = await this.signalContact(contact, recordOptOutSignal.name, record);
    return { contact, workflowId };
  }

  /** The contact's whole state; a contact the engine never heard of is a contact with no consent, not an error. */
  async getContactState(phone: string): Promise<ContactState> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    return (await this.queryContact(contact, (handle) => handle.query(contactStateQuery))) ?? emptyContactState(contact);
  }

  /** May a message of this type go from this business number to this contact now? Throws rather than guess. */
  async canSend(phone: string, request: z.input<EdgeSchemas['canSend']>): Promise<CanSendResult> {
    const contact = parse(this.schemas.phone, phone, 'phone');
    const parsed = parse(this.schemas.canSend, request);
    const answer = await this.queryContact(contact, (handle) => handle.query(canSendQuery, parsed));
    return (
      answer ?? {
        allowed: false,
        code: 'NO_CONSENT',
        reason: `the engine holds no consent for ${contact}: it never texted in and no consent was recorded`,
      }
    );
  }

  /** What the engine sent to this contact, newest first. */
  async listMessages(phone: string, limit = 100): Promise<OutboundMessageRecord[]> {
    if (!this.outbox) throw new Error('ConsentClient needs a Postgres pool to list messages');
    const contact = parse(this.schemas.phone, phone, 'phone');
    return this.outbox.listForContact(contact, limit);
  }

  private async signalContact(phone: string, signal: string, payload: unknown): Promise<string> {
    const workflowId = contactWorkflowId(phone);
    await this.options.client.workflow.signalWithStart(contactWorkflow, {
      workflowId,
      taskQueue: this.options.taskQueue,
      args: [{ phone, settings: this.options.workflowSettings }],
      signal,
      signalArgs: [payload],
      typedSearchAttributes: [
        { key: contactPhoneAttribute, value: phone },
        { key: optedOutAttribute, value: false },
        { key: needsReviewAttribute, value: false },
      ],
      staticSummary: `Consent actor for ${phone}`,
      staticDetails: 'Holds the consents and the opt-out of this contact, account-wide. Query `contactState` or `canSend`.',
    });
    return workflowId;
  }

  /** Runs a query with a deadline; undefined when the contact has no actor yet. */
  private async queryContact<T>(
    phone: string,
    run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ): Promise<T | undefined> {
    const { client, queryTimeoutMs = 5000 } = this.options;
    const handle = client.workflow.getHandle(contactWorkflowId(phone));
    try {
      return await client.connection.withDeadline(Date.now() + queryTimeoutMs, () => run(handle));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw new ContactStateUnavailableError(phone, error);
    }
  }
}

function parse<S extends z.ZodType>(schema: S, input: unknown, field?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  throw new InvalidInputError(field ? issues.map((issue) => ({ ...issue, field: issue.field === '(body)' ? field : `${field}.${issue.field}` })) : issues);
}
