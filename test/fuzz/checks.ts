/**
 * What the answers must mean, checked against Temporal and Postgres after the run: a refused request started and
 * wrote nothing; an accepted one was processed to the end (a STOP opted out, confirmed once, nothing left pending).
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ContactState } from '../../workflows/domain/contact-state';
import { contactStateQuery, suppressionImportProgressQuery } from '../../workflows/messages';
import type { SuppressionImportProgress } from '../../workflows/domain/suppression-import';
import { normalisePhone } from './placeholders';
import type { ConcreteRequest } from './requests';
import type { Answer } from './transport';
import { CHECKED_STOP_BODIES } from './values';

export interface Outcome {
  request: ConcreteRequest;
  answer: Answer;
}

/** A 422 from POST /v1/messages is a decision: the refusal is recorded by design (outbox and ledger, consent-rules.md §8). */
export function isDecidedRefusal(outcome: Outcome): boolean {
  return outcome.request.route === 'POST /v1/messages' && outcome.answer.status === 422;
}

/** Requests that must leave no trace: every 4xx but a send refusal. */
export function isRejected(outcome: Outcome): boolean {
  return outcome.answer.status >= 400 && outcome.answer.status < 500 && !isDecidedRefusal(outcome);
}

/** Successful reads must leave no trace either. */
export function isRead(outcome: Outcome): boolean {
  return (outcome.request.method === 'GET' || outcome.request.method === 'HEAD') && outcome.answer.status >= 200 && outcome.answer.status < 300;
}

export type Expectation =
  | { kind: 'contact'; contact: string; inbound: number; stops: number; optOuts: number; consents: number; requests: Outcome[] }
  | { kind: 'sent'; idempotencyKey: string; request: Outcome }
  | { kind: 'import'; importId: string; request: Outcome }
  | { kind: 'program'; id: string; request: Outcome };

const trimmedString = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** What each accepted request must have led to, per contact (a chain sends several to one). */
export function expectationsFor(outcomes: Outcome[]): Expectation[] {
  const contacts = new Map<string, Extract<Expectation, { kind: 'contact' }>>();
  const others: Expectation[] = [];
  const contact = (phone: string | undefined, outcome: Outcome) => {
    if (!phone || !outcome.request.freshPhones.includes(phone)) return undefined;
    let entry = contacts.get(phone);
    if (!entry) {
      entry = { kind: 'contact', contact: phone, inbound: 0, stops: 0, optOuts: 0, consents: 0, requests: [] };
      contacts.set(phone, entry);
    }
    entry.requests.push(outcome);
    return entry;
  };
  const inbound = (from: unknown, body: unknown, outcome: Outcome) => {
    const entry = contact(typeof from === 'string' ? normalisePhone(from) : undefined, outcome);
    if (!entry) return;
    entry.inbound += 1;
    if (typeof body === 'string' && CHECKED_STOP_BODIES.includes(body)) entry.stops += 1;
  };
  for (const outcome of outcomes) {
    const { request, answer } = outcome;
    if (answer.status < 200 || answer.status >= 300) continue;
    const value = request.value as Record<string, any> | undefined;
    const json = answer.json as Record<string, any> | undefined;
    switch (request.route) {
      case 'POST /v1/inbound':
        inbound(value?.from, value?.body, outcome);
        break;
      case 'POST /webhooks/twilio': {
        const form = Object.fromEntries(request.params ?? []);
        inbound(form.From, form.Body ?? '', outcome);
        break;
      }
      case 'POST /webhooks/telnyx':
        if (answer.status === 202) inbound(value?.data?.payload?.from?.phone_number, value?.data?.payload?.text ?? '', outcome);
        break;
      case 'POST /v1/opt-outs': {
        const entry = contact(trimmedString(json?.contact), outcome);
        if (entry) entry.optOuts += 1;
        break;
      }
      case 'POST /v1/consents': {
        const entry = contact(trimmedString(json?.contact), outcome);
        if (entry) entry.consents += 1;
        break;
      }
      case 'POST /v1/messages':
        if (answer.status === 201 && typeof json?.idempotencyKey === 'string') others.push({ kind: 'sent', idempotencyKey: json.idempotencyKey, request: outcome });
        break;
      case 'POST /v1/opt-outs/import (text/csv)':
      case 'POST /v1/opt-outs/import (multipart)':
        if (typeof json?.importId === 'string' && json.created === true) others.push({ kind: 'import', importId: json.importId, request: outcome });
        break;
      case 'POST /v1/programs':
        if (typeof json?.id === 'string') others.push({ kind: 'program', id: json.id, request: outcome });
        break;
    }
  }
  return [...contacts.values(), ...others];
}

export interface ContactView {
  state?: ContactState;
  error?: string;
}

/** Reads many actors' states at once, a few at a time. */
export async function readStates(client: Client, phones: string[], deadline: number, concurrency = 12): Promise<Map<string, ContactView>> {
  const views = new Map<string, ContactView>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < phones.length) {
        const phone = phones[next++]!;
        if (Date.now() > deadline) {
          views.set(phone, { error: 'not read: the check ran out of time' });
          continue;
        }
        try {
          const state = await client.connection.withDeadline(Math.min(Date.now() + 10_000, Math.max(deadline, Date.now() + 1000)), () => client.workflow.getHandle(`contact:${phone}`).query(contactStateQuery));
          views.set(phone, { state });
        } catch (error) {
          views.set(phone, { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        }
      }
    }),
  );
  return views;
}

export function pendingOf(state: ContactState): number {
  return (state.pendingReplies?.length ?? 0) + (state.pendingLedger?.length ?? 0);
}

/** Why an expectation does not hold yet (undefined: it holds). */
export async function unmetExpectations(client: Client, pool: Pool, expectations: Expectation[], deadline: number): Promise<Map<Expectation, string>> {
  const unmet = new Map<Expectation, string>();
  const contactExpectations = expectations.filter((e): e is Extract<Expectation, { kind: 'contact' }> => e.kind === 'contact');
  const phones = contactExpectations.map((e) => e.contact);
  const views = await readStates(client, phones, deadline);
  const optOutRows = new Set((await pool.query<{ phone: string }>('SELECT phone FROM opt_outs WHERE phone = ANY($1)', [phones])).rows.map((row) => row.phone));
  const confirmations = new Map<string, string[]>();
  for (const row of (
    await pool.query<{ contact: string; status: string }>("SELECT contact, status FROM outbound_messages WHERE kind = 'opt_out_confirmation' AND contact = ANY($1)", [phones])
  ).rows) {
    confirmations.set(row.contact, [...(confirmations.get(row.contact) ?? []), row.status]);
  }
  for (const expectation of contactExpectations) {
    const view = views.get(expectation.contact);
    const problems: string[] = [];
    const state = view?.state;
    if (!state) {
      unmet.set(expectation, `contactState not readable: ${view?.error ?? 'no answer'}`);
      continue;
    }
    if (state.pendingReplies.length > 0) problems.push(`pendingReplies ${JSON.stringify(state.pendingReplies.map((reply) => reply.kind))}`);
    if (state.pendingLedger.length > 0) problems.push(`pendingLedger ${JSON.stringify(state.pendingLedger.map((entry) => entry.event))}`);
    if (state.counts.rejectedSignals > 0) problems.push(`${state.counts.rejectedSignals} signal(s) the API accepted were rejected by the actor`);
    if (state.counts.inbound + state.counts.duplicates < expectation.inbound) problems.push(`${expectation.inbound} inbound texts accepted, the actor counted ${state.counts.inbound} (+${state.counts.duplicates} duplicates)`);
    // A double opt-in is accepted as pending: it becomes a recorded consent only when the contact confirms it.
    const consentsTaken = state.counts.consentsRecorded + (state.counts.doubleOptInsRequested ?? 0);
    if (consentsTaken < expectation.consents) problems.push(`${expectation.consents} consents accepted, ${state.counts.consentsRecorded} recorded and ${state.counts.doubleOptInsRequested ?? 0} pending confirmation`);
    if (expectation.stops > 0 || expectation.optOuts > 0) {
      if (!state.optedOut) problems.push('not opted out');
      if (!optOutRows.has(expectation.contact)) problems.push('no opt_outs row');
    }
    if (expectation.stops > 0) {
      const statuses = confirmations.get(expectation.contact) ?? [];
      if (statuses.length !== 1 || statuses[0] !== 'sent') {
        problems.push(`opt_out_confirmation rows: ${JSON.stringify(statuses)} (want exactly one, sent; the actor counts ${state.counts.repliesSent} replies sent, ${state.counts.repliesFailed} failed)`);
      }
    }
    if (problems.length > 0) unmet.set(expectation, problems.join('; '));
  }

  const keys = expectations.filter((e): e is Extract<Expectation, { kind: 'sent' }> => e.kind === 'sent').map((e) => e);
  if (keys.length > 0) {
    const sent = new Map(
      (await pool.query<{ key: string; status: string }>('SELECT idempotency_key AS key, status FROM outbound_messages WHERE idempotency_key = ANY($1)', [keys.map((e) => e.idempotencyKey)])).rows.map((row) => [row.key, row.status]),
    );
    for (const expectation of keys) {
      const status = sent.get(expectation.idempotencyKey);
      if (status !== 'sent') unmet.set(expectation, `answered 201 sent, outbound_messages says ${status ?? 'nothing'}`);
    }
  }

  const imports = expectations.filter((e): e is Extract<Expectation, { kind: 'import' }> => e.kind === 'import');
  let nextImport = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (nextImport < imports.length) await checkImport(imports[nextImport++]!);
    }),
  );
  async function checkImport(expectation: Extract<Expectation, { kind: 'import' }>): Promise<void> {
    let progress: SuppressionImportProgress;
    try {
      const handle = client.workflow.getHandle<() => Promise<SuppressionImportProgress>>(`suppression-import:${expectation.importId}`);
      const { status } = await handle.describe();
      // A finished import's counts are its result (no worker needed); a running one answers its progress query.
      progress = await client.connection.withDeadline(Math.max(deadline, Date.now() + 5000), () =>
        status.name === 'RUNNING' ? handle.query(suppressionImportProgressQuery) : handle.result(),
      );
    } catch (error) {
      unmet.set(expectation, `import progress not readable: ${(error as Error).message}`);
      return;
    }
    if (progress.status !== 'completed') {
      unmet.set(expectation, `import ${progress.status}${progress.error ? `: ${progress.error}` : ''} (${progress.optedOut + progress.alreadyOptedOut}/${progress.valid} applied)`);
      return;
    }
    const { rows } = await pool.query<{ missing: string; pending: string }>(
      `SELECT count(*) FILTER (WHERE r.outcome IN ('opted_out', 'already_opted_out') AND o.phone IS NULL) AS missing,
              count(*) FILTER (WHERE r.outcome = 'pending') AS pending
       FROM suppression_import_rows r LEFT JOIN opt_outs o ON o.phone = r.phone WHERE r.import_id = $1`,
      [expectation.importId],
    );
    const problems: string[] = [];
    if (Number(rows[0]!.missing) > 0) problems.push(`${rows[0]!.missing} imported numbers have no opt_outs row`);
    if (Number(rows[0]!.pending) > 0) problems.push(`${rows[0]!.pending} rows still pending`);
    if (progress.optedOut + progress.alreadyOptedOut !== progress.valid) problems.push(`valid ${progress.valid}, applied ${progress.optedOut + progress.alreadyOptedOut}`);
    if (problems.length > 0) unmet.set(expectation, problems.join('; '));
  }

  const programs = expectations.filter((e): e is Extract<Expectation, { kind: 'program' }> => e.kind === 'program');
  if (programs.length > 0) {
    const found = new Set((await pool.query<{ id: string }>('SELECT id FROM programs WHERE id = ANY($1)', [programs.map((e) => e.id)])).rows.map((row) => row.id));
    for (const expectation of programs) if (!found.has(expectation.id)) unmet.set(expectation, 'answered 201, no programs row');
  }
  return unmet;
}

export interface WorkflowListing {
  ids: Set<string>;
  /** contact actors that are still running */
  runningContacts: string[];
  /** workflows that failed, were terminated or timed out: "workflowId (status)" */
  closedBadly: string[];
  byStatus: Record<string, number>;
}

export async function listWorkflows(client: Client, taskQueue: string): Promise<WorkflowListing> {
  const ids = new Set<string>();
  const running = new Set<string>();
  const closedBadly: string[] = [];
  const byStatus: Record<string, number> = {};
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    ids.add(execution.workflowId);
    const status = execution.status.name;
    byStatus[`${execution.workflowId.split(':')[0]} ${status}`] = (byStatus[`${execution.workflowId.split(':')[0]} ${status}`] ?? 0) + 1;
    if (status === 'RUNNING' && execution.workflowId.startsWith('contact:')) running.add(execution.workflowId.slice('contact:'.length));
    // A send refused for an unreadable state is terminated by design (consent-client.ts sendMessage).
    if (status === 'FAILED' || status === 'TIMED_OUT' || (status === 'TERMINATED' && !execution.workflowId.startsWith('send:'))) closedBadly.push(`${execution.workflowId} (${status})`);
  }
  return { ids, runningContacts: [...running], closedBadly, byStatus };
}

export interface TraceFound {
  phone?: string;
  id?: string;
  where: string[];
  requests: Outcome[];
}

/**
 * Numbers and ids that appeared only in requests that must leave no trace (rejected ones, reads), and still have a
 * workflow or a row somewhere.
 */
export async function tracesOfTracelessRequests(pool: Pool, listing: WorkflowListing, outcomes: Outcome[], traceless: (outcome: Outcome) => boolean): Promise<{ checkedPhones: number; checkedIds: number; found: TraceFound[] }> {
  const touched = new Set<string>();
  const touchedIds = new Set<string>();
  for (const outcome of outcomes) {
    if (traceless(outcome)) continue;
    for (const phone of outcome.request.mentioned) touched.add(phone);
    for (const id of outcome.request.freshIds) touchedIds.add(id);
  }
  const phones = new Map<string, Outcome[]>();
  const ids = new Map<string, Outcome[]>();
  for (const outcome of outcomes) {
    if (!traceless(outcome)) continue;
    for (const phone of outcome.request.mentioned) if (!touched.has(phone)) phones.set(phone, [...(phones.get(phone) ?? []), outcome]);
    // An id with a NUL cannot be stored in Postgres (nor looked up there): the workflow listing still covers it.
    for (const id of outcome.request.freshIds) if (!touchedIds.has(id) && id.length > 0) ids.set(id, [...(ids.get(id) ?? []), outcome]);
  }
  const phoneList = [...phones.keys()];
  const idList = [...ids.keys()];
  const where = new Map<string, string[]>();
  const note = (key: string, place: string) => where.set(key, [...(where.get(key) ?? []), place]);
  for (const phone of phoneList) if (listing.ids.has(`contact:${phone}`)) note(phone, `workflow contact:${phone}`);
  const tables: [string, string][] = [
    ['consent_ledger', 'contact'],
    ['opt_outs', 'phone'],
    ['outbound_messages', 'contact'],
  ];
  for (const [table, column] of tables) {
    const { rows } = await pool.query<{ value: string; n: string }>(`SELECT ${column} AS value, count(*) AS n FROM ${table} WHERE ${column} = ANY($1) GROUP BY ${column}`, [phoneList]);
    for (const row of rows) note(row.value, `${row.n} row(s) in ${table}`);
  }
  for (const id of idList) {
    for (const prefix of ['send:', 'suppression-import:']) if (listing.ids.has(`${prefix}${id}`)) note(id, `workflow ${prefix}${id}`);
  }
  const idTables: [string, string][] = [
    ['suppression_imports', 'id'],
    ['outbound_messages', 'idempotency_key'],
    ['programs', 'id'],
  ];
  const storableIds = idList.filter((id) => !id.includes('\u0000'));
  for (const [table, column] of idTables) {
    const { rows } = await pool.query<{ value: string }>(`SELECT ${column} AS value FROM ${table} WHERE ${column} = ANY($1)`, [storableIds]);
    for (const row of rows) note(row.value, `row in ${table}`);
  }
  const found: TraceFound[] = [];
  for (const [key, places] of where) {
    if (phones.has(key)) found.push({ phone: key, where: places, requests: phones.get(key)! });
    else found.push({ id: key, where: places, requests: ids.get(key) ?? [] });
  }
  return { checkedPhones: phoneList.length, checkedIds: idList.length, found };
}
