/**
 * The generated traffic: for every route and webhook of client/http/server.ts and client/http/webhooks/, valid
 * requests built from the route's zod schema, the same with fields mutated to boundary and invalid values, broken
 * bodies and content types, bad keys, forged and valid signatures, and short chains (consent → send → status).
 */
import fc from 'fast-check';
import { edgeSchemas } from '../../client/schemas';
import { campaignSchemas } from '../../workflows/domain/campaign';
import { FreshId, FreshPhone, Previous } from './placeholders';
import { JSON_BREAKAGES, PathValue, type Auth, type Body, type MultipartPart, type Scenario, type Step, type TelnyxSigning, type TwilioSigning } from './requests';
import {
  applyMutations,
  boundaryValue,
  CHECKED_STOP_BODIES,
  describeValue,
  freshPhone,
  freshUsPhone,
  MISSING,
  mutationsArb,
  normalTimestamp,
  objectArb,
  oddText,
  OTHER_INBOUND_BODIES,
  VALID_FREQUENCIES,
  type Mutation,
  type Overrides,
} from './values';
import { describeSchema, type Field, type Spec } from './zod-spec';

const schemas = edgeSchemas('US');
// Built from the same phone schema instance, so the spec reader knows its phone fields (as client/campaigns.ts builds them).
const campaigns = campaignSchemas({ phone: schemas.phone, body: schemas.sendMessage.shape.body, program: schemas.sendMessage.shape.program });
const describe = (schema: Parameters<typeof describeSchema>[0]) => describeSchema(schema, { phone: [schemas.phone, schemas.inboundContact, schemas.businessNumber] });
type ObjectSpec = Extract<Spec, { kind: 'object' }>;

/** Each route's request shape, read from the schema the route validates with. */
export const SPECS = {
  inbound: describe(schemas.inboundMessage) as ObjectSpec,
  canSend: describe(schemas.canSend) as ObjectSpec,
  sendMessage: describe(schemas.sendMessage) as ObjectSpec,
  recordConsent: describe(schemas.recordConsent) as ObjectSpec,
  addOptOut: describe(schemas.addOptOut) as ObjectSpec,
  optOutList: describe(schemas.optOutList) as ObjectSpec,
  history: describe(schemas.history) as ObjectSpec,
  suppressionImport: describe(schemas.suppressionImport) as ObjectSpec,
  importParams: describe(schemas.importParams) as ObjectSpec,
  program: describe(schemas.program) as ObjectSpec,
  createCampaign: describe(campaigns.createCampaign) as ObjectSpec,
  campaignRecipient: describe(campaigns.recipient) as ObjectSpec,
  campaignCsvOptions: describe(campaigns.campaignCsvOptions) as ObjectSpec,
  campaignParams: describe(campaigns.campaignParams) as ObjectSpec,
  recipientsPage: describe(campaigns.recipientsPage) as ObjectSpec,
};

const field = (spec: ObjectSpec, name: string): Field => {
  const found = spec.fields[name];
  if (!found) throw new Error(`the schema has no field ${name}: update test/fuzz/routes.ts`);
  return found;
};

const validAuth: fc.Arbitrary<Auth> = fc.constantFrom('key', 'key2');
/** Mostly a valid key; some requests with a missing, unknown, revoked or malformed one. */
const anyAuth: fc.Arbitrary<Auth> = fc.oneof(
  { arbitrary: validAuth, weight: 88 },
  { arbitrary: fc.constant('lowercase' as const), weight: 2 },
  { arbitrary: fc.constantFrom<Auth>('missing', 'wrong', 'revoked', 'malformed', 'basic', 'empty-bearer'), weight: 10 },
);

const maybeMissing = <T>(arbitrary: fc.Arbitrary<T>, weightPresent = 1, weightMissing = 3) =>
  fc.oneof({ arbitrary: fc.constant(MISSING), weight: weightMissing }, { arbitrary: arbitrary as fc.Arbitrary<unknown>, weight: weightPresent });

/** A program named in a send or a consent is mostly none (a declared one comes from a chain). */
const programOverride = maybeMissing(fc.constant(null).map(() => new FreshId('undeclared-')), 1, 6);

const inboundBody = fc.oneof(
  { arbitrary: fc.constantFrom(...CHECKED_STOP_BODIES), weight: 2 },
  { arbitrary: fc.constantFrom(...OTHER_INBOUND_BODIES), weight: 5 },
  { arbitrary: fc.lorem({ maxCount: 12 }), weight: 2 },
  { arbitrary: oddText(12), weight: 2 },
  { arbitrary: fc.constantFrom('a'.repeat(1600), '😀'.repeat(800), 'a'.repeat(1601), `STOP${' '.repeat(1596)}`), weight: 1 },
);

const sendBody = fc.oneof(
  { arbitrary: fc.constantFrom('Your order shipped.', 'Spring sale: 20% off this week.', 'Acme Dental: appointment reminders. Up to 4 msgs/month. Msg & data rates may apply. Reply STOP to unsubscribe.'), weight: 4 },
  { arbitrary: fc.lorem({ maxCount: 20 }), weight: 2 },
  { arbitrary: oddText(10), weight: 1 },
  { arbitrary: fc.constantFrom('b'.repeat(1600), 'b'.repeat(1601)), weight: 1 },
);

const INBOUND_OVERRIDES: Overrides = { body: inboundBody };
const SEND_OVERRIDES: Overrides = { body: sendBody, program: programOverride };
const CONSENT_OVERRIDES: Overrides = { program: programOverride };

/** The schema's object-level refinements (a web form needs an IP or a user agent, a call a call id or CRM reference), kept most of the time. */
function keepRefinements(consent: Record<string, unknown>, keep: boolean): Record<string, unknown> {
  const source = consent.source as Record<string, unknown> | undefined;
  if (!keep || !source) return consent;
  if (source.kind === 'web_form' && source.ipAddress === undefined && source.userAgent === undefined) source.ipAddress = '203.0.113.7';
  if (source.kind === 'verbal' && source.callId === undefined && source.crmReference === undefined) source.callId = 'CA123';
  return consent;
}

const consentValue = fc.tuple(objectArb(SPECS.recordConsent, CONSENT_OVERRIDES), fc.boolean(), fc.integer({ min: 0, max: 9 })).map(([consent, prechecked, keep]) => {
  const source = consent.source as Record<string, unknown> | undefined;
  // A web form with a pre-checked box is refused (422): keep most valid ones unchecked so they get 2xx.
  if (source?.kind === 'web_form' && typeof source.checkboxPrechecked === 'boolean') source.checkboxPrechecked = prechecked && keep === 0;
  return keepRefinements(consent, keep > 0);
});

function noteMutations(mutations: Mutation[]): string[] {
  return mutations.map(({ path, value }) => `${path.join('.')} = ${describeValue(value)}`);
}

/** A valid value of the object, or the same with one to three fields mutated. */
function validOrMutated(base: fc.Arbitrary<Record<string, unknown>>, spec: Spec, mutatedWeight: number): fc.Arbitrary<{ value: Record<string, unknown>; notes: string[] }> {
  return fc.oneof(
    { arbitrary: base.map((value) => ({ value, notes: ['valid'] })), weight: 10 - mutatedWeight },
    { arbitrary: fc.tuple(base, mutationsArb(spec)).map(([value, mutations]) => ({ value: applyMutations(value, mutations), notes: noteMutations(mutations) })), weight: mutatedWeight },
  );
}

function jsonStep(route: string, path: unknown[], body: { value: unknown; notes: string[] }, auth: Auth): Step {
  const [method] = route.split(' ');
  return { route, method: method!, path, auth, body: { kind: 'json', value: body.value }, notes: body.notes };
}

// ---- /healthz and reads -------------------------------------------------------------------------------------------

const healthz: fc.Arbitrary<Scenario> = fc.constantFrom('GET', 'HEAD').map((method) => ({
  kind: 'healthz',
  steps: [{ route: `${method} /healthz`, method, path: ['/healthz'], auth: 'none', notes: ['probe'] }],
}));

/** A contact number in a path: valid in any format, invalid, or a path segment that is not a number at all. */
const pathPhone: fc.Arbitrary<{ piece: unknown; note: string }> = fc.oneof(
  { arbitrary: freshPhone.map((phone) => ({ piece: phone, note: describeValue(phone) })), weight: 3 },
  { arbitrary: boundaryValue(field(SPECS.addOptOut, 'phone').spec, 'phone').map((value) => ({ piece: new PathValue(value === MISSING ? '' : String(value)), note: `phone = ${describeValue(value)}` })), weight: 3 },
  { arbitrary: fc.constantFrom('%', '%E0%A4%A', '%2e%2e', '..', '%2F', `${'9'.repeat(120)}`, '+1%00720', '%2B1720%C0%AF', '%F0%9F%98%80').map((raw) => ({ piece: raw, note: `raw path segment ${raw}` })), weight: 1 },
);

function queryFrom(value: Record<string, unknown>): [string, unknown][] {
  return Object.entries(value);
}

const contactReads: fc.Arbitrary<Scenario> = fc
  .tuple(
    pathPhone,
    fc.constantFrom('', '/can-send', '/messages', '/history'),
    validOrMutated(objectArb(SPECS.canSend, { program: programOverride }), SPECS.canSend, 6),
    validOrMutated(objectArb(SPECS.history), SPECS.history, 6),
    anyAuth,
  )
  .map(([phone, tail, canSend, history, auth]) => {
    const query = tail === '/can-send' ? canSend : tail === '/history' ? history : { value: {}, notes: [] };
    return {
      kind: 'contact-read',
      steps: [
        {
          route: `GET /v1/contacts/:phone${tail}`,
          method: 'GET',
          path: ['/v1/contacts/', phone.piece, tail],
          query: queryFrom(query.value),
          auth,
          notes: [phone.note, ...query.notes],
        },
      ],
    };
  });

const programsList: fc.Arbitrary<Scenario> = anyAuth.map((auth) => ({ kind: 'programs-list', steps: [{ route: 'GET /v1/programs', method: 'GET', path: ['/v1/programs'], auth, notes: ['list'] }] }));

const optOutListQuery = objectArb(SPECS.optOutList);

const optOutList: fc.Arbitrary<Scenario> = fc.tuple(validOrMutated(optOutListQuery, SPECS.optOutList, 7), anyAuth).map(([query, auth]) => ({
  kind: 'opt-out-list',
  steps: [{ route: `GET /v1/opt-outs${query.value.format === 'csv' ? ' (csv)' : ''}`, method: 'GET', path: ['/v1/opt-outs'], query: queryFrom(query.value), auth, notes: query.notes }],
}));

const importStatus: fc.Arbitrary<Scenario> = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.constant(null).map(() => ({ piece: new FreshId('never-'), note: 'unknown import id' })), weight: 3 },
      { arbitrary: boundaryValue(field(SPECS.importParams, 'importId').spec, 'importId').map((value) => ({ piece: new PathValue(value === MISSING ? '' : String(value)), note: `importId = ${describeValue(value)}` })), weight: 2 },
    ),
    anyAuth,
  )
  .map(([id, auth]) => ({
    kind: 'import-status',
    steps: [{ route: 'GET /v1/opt-outs/imports/:importId', method: 'GET', path: ['/v1/opt-outs/imports/', id.piece], auth, notes: [id.note] }],
  }));

// ---- writes --------------------------------------------------------------------------------------------------------

const inbound: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(objectArb(SPECS.inbound, INBOUND_OVERRIDES), SPECS.inbound, 8), anyAuth)
  .map(([body, auth]) => ({ kind: 'inbound', steps: [jsonStep('POST /v1/inbound', ['/v1/inbound'], body, auth)] }));

const sendMessage: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(objectArb(SPECS.sendMessage, SEND_OVERRIDES), SPECS.sendMessage, 8), anyAuth)
  .map(([body, auth]) => ({ kind: 'send', steps: [jsonStep('POST /v1/messages', ['/v1/messages'], body, auth)] }));

const recordConsent: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(consentValue, SPECS.recordConsent, 8), anyAuth)
  .map(([body, auth]) => ({ kind: 'consent', steps: [jsonStep('POST /v1/consents', ['/v1/consents'], body, auth)] }));

const programValue = objectArb(SPECS.program, { id: fc.constant(null).map(() => new FreshId('fz')), frequency: fc.constantFrom(...VALID_FREQUENCIES) });

const upsertProgram: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(programValue, SPECS.program, 8), anyAuth)
  .map(([body, auth]) => ({ kind: 'program', steps: [jsonStep('POST /v1/programs', ['/v1/programs'], body, auth)] }));

const addOptOut: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(objectArb(SPECS.addOptOut), SPECS.addOptOut, 8), anyAuth)
  .map(([body, auth]) => ({ kind: 'add-opt-out', steps: [jsonStep('POST /v1/opt-outs', ['/v1/opt-outs'], body, auth)] }));

const optOutRemoval: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom('DELETE', 'PUT', 'PATCH'), pathPhone, fc.boolean(), fc.boolean(), anyAuth)
  .map(([method, phone, whole, withBody, auth]) => {
    const step: Step = whole
      ? { route: `${method} /v1/opt-outs`, method, path: ['/v1/opt-outs'], auth, notes: ['remove the whole list'] }
      : { route: `${method} /v1/opt-outs/:phone`, method, path: ['/v1/opt-outs/', phone.piece], auth, notes: [phone.note] };
    if (withBody && method !== 'DELETE') step.body = { kind: 'json', value: { optedOut: false, phone: new FreshPhone('US', 'e164') } };
    return { kind: 'opt-out-removal', steps: [step] };
  });

// ---- suppression import --------------------------------------------------------------------------------------------

/** How an import file writes a valid number: E.164, with spaces, dots or dashes inside. */
const importPhone = fc.constantFrom<FreshPhone['format']>('e164', 'e164', 'intl-spaced', 'padded').map((format) => new FreshPhone('US', format));
const INVALID_IMPORT_CELLS = ['oops', '', '7202345678', '+1', '+11234567890', '(720) 234-5678', 'ＳＴＯＰ', '+1720234567\u0000', '\uD800', '=cmd|"/c calc"!A1'];

interface ImportFile {
  rows: unknown[][];
  bom: boolean;
  lineEnd: '\n' | '\r\n';
  /** a column option that matches the file */
  column: string | undefined;
  notes: string[];
}

const importFile: fc.Arbitrary<ImportFile> = fc
  .record({
    layout: fc.constantFrom('bare', 'header', 'named-second'),
    numbers: fc.oneof({ arbitrary: fc.array(importPhone, { minLength: 0, maxLength: 5 }), weight: 40 }, { arbitrary: fc.array(importPhone, { minLength: 30, maxLength: 40 }), weight: 1 }),
    invalid: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...INVALID_IMPORT_CELLS.filter((cell) => !cell.includes('\u0000'))), weight: 9 }, { arbitrary: fc.constantFrom(...INVALID_IMPORT_CELLS), weight: 1 }), { maxLength: 2 }),
    duplicate: fc.boolean(),
    blankLines: fc.boolean(),
    bom: fc.boolean(),
    crlf: fc.boolean(),
    columnByPosition: fc.boolean(),
  })
  .map(({ layout, numbers, invalid, duplicate, blankLines, bom, crlf, columnByPosition }) => {
    const cells: unknown[] = [...numbers, ...invalid];
    if (duplicate && numbers[0]) cells.push(numbers[0]);
    const row = (cell: unknown): unknown[] => (layout === 'named-second' ? ['Ann', cell] : [cell, 'note']);
    const rows: unknown[][] = [];
    if (layout === 'header') rows.push(['phone', 'note']);
    if (layout === 'named-second') rows.push(['name', 'Phone']);
    for (const cell of cells) {
      rows.push(row(cell));
      if (blankLines) rows.push([]);
    }
    const column = layout === 'named-second' ? (columnByPosition ? '2' : 'phone') : columnByPosition ? '1' : undefined;
    return { rows, bom, lineEnd: crlf ? '\r\n' : '\n', column, notes: [`csv ${layout}, ${numbers.length} numbers, ${invalid.length} invalid${duplicate ? ', a duplicate' : ''}${bom ? ', BOM' : ''}${crlf ? ', CRLF' : ''}`] } as ImportFile;
  });

const importOptions = objectArb(SPECS.suppressionImport, { column: fc.constant(MISSING), importId: fc.constant(null).map(() => new FreshId('imp-')) });

/** Contents that are not a suppression list at all. */
const BROKEN_CSV = ['"unclosed,quote\n+17202345678', '\u0000\u0000\u0000', '+17202345678\u0000\n', `${'oops\n'.repeat(14_000)}`, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).toString('latin1'), '', '\n\n\n', 'phone\n', '"a""b,c'];

const csvImport: fc.Arbitrary<Scenario> = fc
  .tuple(
    importFile,
    fc.oneof({ arbitrary: importOptions.map((value) => ({ value, notes: [] as string[] })), weight: 6 }, { arbitrary: fc.tuple(importOptions, mutationsArb(SPECS.suppressionImport)).map(([value, mutations]) => ({ value: applyMutations(value, mutations), notes: noteMutations(mutations) })), weight: 4 }),
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: fc.constantFrom(...BROKEN_CSV), weight: 2 }),
    fc.constantFrom('text/csv', 'text/csv', 'text/plain', 'application/csv', 'text/csv; charset=utf-8', 'application/octet-stream', ''),
    anyAuth,
  )
  .map(([file, options, broken, contentType, auth]) => {
    const query: [string, unknown][] = Object.entries(options.value);
    if (file.column !== undefined && !('column' in options.value)) query.push(['column', file.column]);
    const body: Body =
      broken !== undefined
        ? { kind: 'raw', text: broken, contentType: contentType || undefined }
        : { kind: 'csv', rows: file.rows, bom: file.bom, lineEnd: file.lineEnd, contentType: contentType || undefined };
    const notes = [...(broken !== undefined ? [`content ${describeValue(broken)}`] : file.notes), `content-type ${contentType || '(none)'}`, ...options.notes];
    return { kind: 'import-csv', steps: [{ route: 'POST /v1/opt-outs/import (text/csv)', method: 'POST', path: ['/v1/opt-outs/import'], query, auth, body, notes }] };
  });

const MULTIPART_BREAKAGES = ['none', 'none', 'none', 'no-boundary', 'wrong-boundary', 'truncated', 'no-closing', 'no-disposition', 'no-name', 'two-files', 'eleven-fields', 'file-first', 'proto-field', 'empty-file', 'crlf-in-name', 'no-file', 'garbage'] as const;

const multipartImport: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom(...MULTIPART_BREAKAGES), fc.array(fc.constantFrom('e164', 'intl-spaced'), { minLength: 1, maxLength: 4 }), fc.constantFrom('ops@acme.example', '', 'ü'.repeat(201), '\u0000'), fc.boolean(), anyAuth)
  .map(([breakage, formats, recordedBy, givesImportId, auth]) => {
    const boundary = '----fuzzBoundary7MA4YWxkTrZu0gW';
    const csv = `phone\n${formats.map((format) => `{{phone:US:${format}}}`).join('\n')}\n`;
    const field = (name: string, value: string): MultipartPart => ({ headers: [`Content-Disposition: form-data; name="${name}"`], content: value });
    const file = (content: string): MultipartPart => ({ headers: ['Content-Disposition: form-data; name="file"; filename="suppression.csv"', 'Content-Type: text/csv'], content });
    let parts: MultipartPart[] = [field('recordedBy', recordedBy), ...(givesImportId ? [field('importId', '{{id:mp-}}')] : []), file(csv)];
    let declaredBoundary: string | null = boundary;
    let closing = true;
    let truncateTo: number | undefined;
    switch (breakage) {
      case 'no-boundary':
        declaredBoundary = null;
        break;
      case 'wrong-boundary':
        declaredBoundary = 'not-the-boundary';
        break;
      case 'truncated':
        truncateTo = 120 + csv.length;
        break;
      case 'no-closing':
        closing = false;
        break;
      case 'no-disposition':
        parts = parts.map((part) => ({ ...part, headers: part.headers.filter((header) => !header.startsWith('Content-Disposition')) }));
        break;
      case 'no-name':
        parts = [field('recordedBy', recordedBy), { headers: ['Content-Disposition: form-data; filename="x.csv"'], content: csv }];
        break;
      case 'two-files':
        parts = [...parts, file(csv)];
        break;
      case 'eleven-fields':
        parts = [...Array.from({ length: 11 }, (_, i) => field(`extra${i}`, 'x')), ...parts];
        break;
      case 'file-first':
        parts = [...parts.slice(-1), ...parts.slice(0, -1)];
        break;
      case 'proto-field':
        parts = [field('__proto__', 'x'), field('constructor', 'y'), ...parts];
        break;
      case 'empty-file':
        parts = [field('recordedBy', recordedBy), file('')];
        break;
      case 'crlf-in-name':
        parts = [{ headers: ['Content-Disposition: form-data; name="recordedBy\r\nX-Injected: 1"'], content: 'ops' }, file(csv)];
        break;
      case 'no-file':
        parts = [field('recordedBy', recordedBy)];
        break;
      case 'garbage':
        parts = [{ headers: ['garbage header without colon'], content: Buffer.from([0, 1, 2, 255]) }];
        break;
      case 'none':
        break;
    }
    return {
      kind: 'import-multipart',
      steps: [
        {
          route: 'POST /v1/opt-outs/import (multipart)',
          method: 'POST',
          path: ['/v1/opt-outs/import'],
          auth,
          body: { kind: 'multipart', parts, boundary, declaredBoundary, closing, truncateTo },
          notes: [`multipart ${breakage}`, `recordedBy = ${describeValue(recordedBy)}`, `${formats.length} numbers`],
        },
      ],
    };
  });

// ---- campaigns -----------------------------------------------------------------------------------------------------

/** A recipient: mostly a fresh number with the template's variable, some with it missing or the number broken. */
const campaignRecipient: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.tuple(freshUsPhone, fc.constantFrom('Ann', 'Bob', 'Zoë', '')).map(([to, name]) => ({ to, variables: { name } })), weight: 8 },
  { arbitrary: freshUsPhone.map((to) => ({ to })), weight: 1 },
  { arbitrary: validOrMutated(objectArb(SPECS.campaignRecipient, { to: freshUsPhone, variables: fc.constant({ name: 'Ann' }) }), SPECS.campaignRecipient, 10).map(({ value }) => value), weight: 2 },
  { arbitrary: fc.constantFrom<unknown>(null, 'not an object', 7, [], { to: '+1' }, { variables: { name: 'x' } }), weight: 1 },
);
const campaignFrom = fc.oneof(
  { arbitrary: freshUsPhone, weight: 4 },
  { arbitrary: fc.array(freshUsPhone, { minLength: 1, maxLength: 3 }), weight: 2 },
  { arbitrary: fc.constantFrom<unknown>([], '12345', ['+14155550100', '+14155550100'], 'a'.repeat(40)), weight: 1 },
);
const CAMPAIGN_OVERRIDES: Overrides = {
  from: campaignFrom,
  body: fc.constantFrom('Hello {{name}}, our spring sale starts today.', 'Your order shipped.', 'Hi {{ name }}: {{missing}}', '{{name}}'),
  recipients: fc.array(campaignRecipient, { minLength: 0, maxLength: 4 }),
  program: programOverride,
  // Mostly at once; sometimes a start in the past (at once too) or a few seconds ahead (a durable timer).
  startAt: maybeMissing(fc.constantFrom(-60_000, 3_000).map((offset) => new Date(Date.now() + offset).toISOString()), 1, 4),
  campaignId: maybeMissing(fc.constant(null).map(() => new FreshId('cmp-')), 1, 1),
  ratePerSecond: maybeMissing(fc.constantFrom(1, 10, 0.5, 1000), 1, 2),
};

const createCampaign: fc.Arbitrary<Scenario> = fc
  .tuple(validOrMutated(objectArb(SPECS.createCampaign, CAMPAIGN_OVERRIDES), SPECS.createCampaign, 6), anyAuth)
  .map(([body, auth]) => ({ kind: 'campaign', steps: [jsonStep('POST /v1/campaigns', ['/v1/campaigns'], body, auth)] }));

const CAMPAIGN_MULTIPART_BREAKAGES = ['none', 'none', 'none', 'no-file', 'no-number-column', 'no-boundary', 'truncated', 'repeated-from', 'bad-rate', 'empty-file'] as const;

const campaignMultipart: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom(...CAMPAIGN_MULTIPART_BREAKAGES), fc.array(fc.constantFrom('e164', 'intl-spaced', 'national'), { minLength: 1, maxLength: 4 }), fc.boolean(), anyAuth)
  .map(([breakage, formats, givesId, auth]) => {
    const boundary = '----fuzzCampaignBoundary3xQ9';
    const header = breakage === 'no-number-column' ? 'mobile,name' : 'to,name';
    const csv = `${header}\n${formats.map((format, index) => `{{phone:US:${format}}},${index % 3 === 2 ? '' : 'Ann'}`).join('\n')}\nnot-a-number,Zed\n`;
    const field = (name: string, value: string): MultipartPart => ({ headers: [`Content-Disposition: form-data; name="${name}"`], content: value });
    const file = (content: string): MultipartPart => ({ headers: ['Content-Disposition: form-data; name="file"; filename="campaign.csv"', 'Content-Type: text/csv'], content });
    const options = [field('from', '{{phone:US:e164}}'), field('type', 'transactional'), field('body', 'Hello {{name}}, your order shipped.'), ...(givesId ? [field('campaignId', '{{id:cmp-mp-}}')] : [])];
    let parts: MultipartPart[] = [...options, file(csv)];
    let declaredBoundary: string | null = boundary;
    let truncateTo: number | undefined;
    if (breakage === 'no-file') parts = options;
    if (breakage === 'no-boundary') declaredBoundary = null;
    if (breakage === 'truncated') truncateTo = 200;
    if (breakage === 'repeated-from') parts = [field('from', '{{phone:US:e164}}'), ...parts];
    if (breakage === 'bad-rate') parts = [field('ratePerSecond', 'fast'), ...parts];
    if (breakage === 'empty-file') parts = [...options, file('')];
    return {
      kind: 'campaign-multipart',
      steps: [{ route: 'POST /v1/campaigns (multipart)', method: 'POST', path: ['/v1/campaigns'], auth, body: { kind: 'multipart', parts, boundary, declaredBoundary, closing: true, truncateTo }, notes: [`multipart ${breakage}`, `${formats.length} numbers`] }],
    };
  });

/** An id in a campaign path: one never submitted, or a boundary value of the id's schema. */
const campaignPathId = fc.oneof(
  { arbitrary: fc.constant(null).map(() => ({ piece: new FreshId('never-') as unknown, note: 'unknown campaign id' })), weight: 3 },
  { arbitrary: boundaryValue(field(SPECS.campaignParams, 'campaignId').spec, 'campaignId').map((value) => ({ piece: new PathValue(value === MISSING ? '' : String(value)) as unknown, note: `campaignId = ${describeValue(value)}` })), weight: 2 },
);

const campaignReads: fc.Arbitrary<Scenario> = fc
  .tuple(campaignPathId, fc.constantFrom('', '/recipients'), validOrMutated(objectArb(SPECS.recipientsPage, { cursor: maybeMissing(fc.constantFrom('1', '999999999', 'abc')) }), SPECS.recipientsPage, 6), anyAuth)
  .map(([id, tail, query, auth]) => ({
    kind: 'campaign-read',
    steps: [
      {
        route: `GET /v1/campaigns/:campaignId${tail}${tail && query.value.format === 'csv' ? ' (csv)' : ''}`,
        method: 'GET',
        path: ['/v1/campaigns/', id.piece, tail],
        query: tail ? queryFrom(query.value) : [],
        auth,
        notes: [id.note, ...(tail ? query.notes : [])],
      },
    ],
  }));

const campaignControl: fc.Arbitrary<Scenario> = fc.tuple(campaignPathId, fc.constantFrom('pause', 'resume', 'cancel'), anyAuth).map(([id, action, auth]) => ({
  kind: 'campaign-control',
  steps: [{ route: `POST /v1/campaigns/:campaignId/${action}`, method: 'POST', path: ['/v1/campaigns/', id.piece, `/${action}`], auth, notes: [id.note] }],
}));

/** One campaign through every route: created, read, its recipients paged and exported, paused, resumed, cancelled. */
const campaignLifecycle: fc.Arbitrary<Scenario> = fc.tuple(fc.array(freshUsPhone, { minLength: 1, maxLength: 3 }), freshUsPhone, fc.boolean()).map(([recipients, business, scheduled]) => {
  const id = new FreshId('cmp-chain-');
  const step = (route: string, method: string, tail: string, query: [string, unknown][] = []): Step => ({ route, method, path: ['/v1/campaigns/', id, tail], query, auth: 'key', notes: [`chain: ${route}`] });
  const body = {
    campaignId: id,
    from: business,
    type: 'transactional',
    body: 'Hello {{name}}, your order shipped.',
    recipients: recipients.map((to) => ({ to, variables: { name: 'Ann' } })),
    ...(scheduled ? { startAt: new Date(Date.now() + 600_000).toISOString() } : {}),
  };
  return {
    kind: 'chain-campaign',
    steps: [
      jsonStep('POST /v1/campaigns', ['/v1/campaigns'], { value: body, notes: [`chain: campaign${scheduled ? ' scheduled' : ''}`] }, 'key'),
      step('GET /v1/campaigns/:campaignId', 'GET', ''),
      step('GET /v1/campaigns/:campaignId/recipients', 'GET', '/recipients', [['limit', 1]]),
      step('GET /v1/campaigns/:campaignId/recipients (csv)', 'GET', '/recipients', [['format', 'csv']]),
      step('POST /v1/campaigns/:campaignId/pause', 'POST', '/pause'),
      step('POST /v1/campaigns/:campaignId/resume', 'POST', '/resume'),
      step('POST /v1/campaigns/:campaignId/cancel', 'POST', '/cancel'),
    ],
  };
});

// ---- webhooks ------------------------------------------------------------------------------------------------------

const twilioSigning: fc.Arbitrary<TwilioSigning> = fc.oneof(
  { arbitrary: fc.constant('valid' as const), weight: 6 },
  { arbitrary: fc.constantFrom<TwilioSigning>('none', 'empty', 'random', 'wrong-token', 'wrong-url', 'tampered', 'lowercased'), weight: 4 },
);
const telnyxSigning: fc.Arbitrary<TelnyxSigning> = fc.oneof(
  { arbitrary: fc.constantFrom<TelnyxSigning>('valid', 'valid', 'valid', 'within-tolerance'), weight: 6 },
  { arbitrary: fc.constantFrom<TelnyxSigning>('none', 'no-timestamp', 'stale', 'future', 'garbage', 'other-key', 'tampered', 'not-a-number', 'short-signature'), weight: 4 },
);

const inboundField = (name: string) => field(SPECS.inbound, name).spec;
const sid = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }).map((hex) => `SM${hex}`);

/** A form field of a webhook mutated to one of its schema field's boundary values (form values are strings). */
function formMutation(names: Record<string, Spec>): fc.Arbitrary<{ name: string; value: unknown }> {
  return fc.constantFrom(...Object.entries(names)).chain(([name, spec]) => boundaryValue(spec, name).map((value) => ({ name, value })));
}

function applyFormMutations(params: [string, unknown][], mutations: { name: string; value: unknown }[]): [string, unknown][] {
  let out = [...params];
  for (const { name, value } of mutations) {
    out = out.filter(([key]) => key !== name);
    if (value !== MISSING) out.push([name, value]);
  }
  return out;
}

const twilioInbound: fc.Arbitrary<Scenario> = fc
  .tuple(
    sid,
    freshPhone,
    freshPhone,
    inboundBody,
    fc.oneof({ arbitrary: fc.constant([] as { name: string; value: unknown }[]), weight: 3 }, { arbitrary: fc.array(formMutation({ MessageSid: inboundField('messageId'), From: inboundField('from'), To: inboundField('to'), Body: inboundField('body') }), { minLength: 1, maxLength: 2 }), weight: 7 }),
    twilioSigning,
    fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/json', 'text/plain'),
    fc.boolean(),
  )
  .map(([messageSid, from, to, body, mutations, signing, contentType, withQuery]) => {
    const params = applyFormMutations([['MessageSid', messageSid], ['AccountSid', 'ACfuzz'], ['From', from], ['To', to], ['Body', body], ['NumMedia', '0']], mutations);
    return {
      kind: 'twilio-inbound',
      steps: [
        {
          route: 'POST /webhooks/twilio',
          method: 'POST',
          path: ['/webhooks/twilio'],
          query: withQuery ? [['tenant', 'acme & co/✓']] : undefined,
          auth: 'none',
          body: { kind: 'form', params, signing, contentType },
          notes: [`signature ${signing}`, `content-type ${contentType}`, ...mutations.map(({ name, value }) => `${name} = ${describeValue(value)}`)],
        },
      ],
    };
  });

const statusFields: Record<string, Spec> = {
  MessageSid: inboundField('messageId'),
  MessageStatus: { kind: 'string', semantic: 'plain', min: 1, max: 40, pattern: undefined, trims: true },
  ErrorCode: { kind: 'string', semantic: 'plain', min: 0, max: 20, pattern: undefined, trims: true },
};

function twilioStatusStep(messageSid: unknown, status: string, errorCode: string | typeof MISSING, mutations: { name: string; value: unknown }[], signing: TwilioSigning): Step {
  const params = applyFormMutations([['MessageSid', messageSid], ['MessageStatus', status], ['ErrorCode', errorCode]], mutations);
  return {
    route: 'POST /webhooks/twilio/status',
    method: 'POST',
    path: ['/webhooks/twilio/status'],
    auth: 'none',
    body: { kind: 'form', params, signing },
    notes: [`signature ${signing}`, `MessageStatus ${status}`, ...mutations.map(({ name, value }) => `${name} = ${describeValue(value)}`)],
  };
}

const DELIVERY_STATUSES = ['queued', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'DELIVERED', 'unknown-status'];

const twilioStatus: fc.Arbitrary<Scenario> = fc
  .tuple(sid, fc.constantFrom(...DELIVERY_STATUSES), maybeMissing(fc.constantFrom('30003', '30007', '21610', ''), 1, 1), fc.oneof({ arbitrary: fc.constant([] as { name: string; value: unknown }[]), weight: 3 }, { arbitrary: fc.array(formMutation(statusFields), { minLength: 1, maxLength: 2 }), weight: 7 }), twilioSigning)
  .map(([messageSid, status, errorCode, mutations, signing]) => ({ kind: 'twilio-status', steps: [twilioStatusStep(messageSid, status, errorCode as string | typeof MISSING, mutations, signing)] }));

const TELNYX_EVENT_TYPES = ['message.received', 'message.received', 'message.sent', 'message.finalized', 'message.unknown', 'call.initiated', '', 'x'.repeat(101)];

function telnyxReceived(id: unknown, from: unknown, to: unknown, text: unknown): Record<string, unknown> {
  return {
    data: {
      event_type: 'message.received',
      id: 'evt-fuzz',
      occurred_at: '2026-11-27T10:00:00.000+00:00',
      record_type: 'event',
      payload: { id, type: 'SMS', direction: 'inbound', from: { phone_number: from, carrier: 'T-Mobile' }, to: [{ phone_number: to, status: 'webhook_delivered' }], text },
    },
    meta: { attempt: 1 },
  };
}

function telnyxStatusEvent(eventType: string, id: unknown, status: string, errors: unknown): Record<string, unknown> {
  return { data: { event_type: eventType, id: 'evt-fuzz', payload: { id, to: [{ phone_number: '+17202345678', status }], errors } } };
}

const telnyxPaths = ['data.payload.id', 'data.payload.from.phone_number', 'data.payload.to', 'data.payload.text', 'data.event_type', 'data.payload', 'data', 'data.payload.to.0.status', 'data.payload.errors'] as const;
const telnyxFieldSpecs: Record<(typeof telnyxPaths)[number], Spec> = {
  'data.payload.id': inboundField('messageId'),
  'data.payload.from.phone_number': inboundField('from'),
  'data.payload.to': { kind: 'array', element: inboundField('to'), min: 1, max: undefined },
  'data.payload.text': inboundField('body'),
  'data.event_type': { kind: 'string', semantic: 'plain', min: 1, max: 100, pattern: undefined, trims: false },
  'data.payload': { kind: 'unknown' },
  data: { kind: 'unknown' },
  'data.payload.to.0.status': statusFields.MessageStatus!,
  'data.payload.errors': { kind: 'unknown' },
};

const telnyxMutation: fc.Arbitrary<Mutation> = fc.constantFrom(...telnyxPaths).chain((path) => boundaryValue(telnyxFieldSpecs[path], path).map((value) => ({ path: path.split('.'), value })));

const telnyx: fc.Arbitrary<Scenario> = fc
  .tuple(
    fc.constantFrom(...TELNYX_EVENT_TYPES),
    fc.uuid(),
    freshPhone,
    freshPhone,
    fc.oneof({ arbitrary: inboundBody, weight: 8 }, { arbitrary: fc.constant(null), weight: 1 }),
    fc.constantFrom(...DELIVERY_STATUSES, 'delivery_failed', 'sending_failed', 'expired'),
    fc.constantFrom<unknown>([], null, [{ code: '40300' }], [{ code: 40001 }], [{ title: 'no code' }]),
    fc.oneof({ arbitrary: fc.constant([] as Mutation[]), weight: 3 }, { arbitrary: fc.array(telnyxMutation, { minLength: 1, maxLength: 2 }), weight: 7 }),
    telnyxSigning,
    fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain'),
  )
  .map(([eventType, id, from, to, text, status, errors, mutations, signing, contentType]) => {
    const event = eventType === 'message.received' ? telnyxReceived(id, from, to, text) : telnyxStatusEvent(eventType, id, status, errors);
    const value = mutations.length > 0 ? applyMutations(event, mutations) : event;
    return {
      kind: 'telnyx',
      steps: [
        {
          route: 'POST /webhooks/telnyx',
          method: 'POST',
          path: ['/webhooks/telnyx'],
          auth: 'none',
          body: { kind: 'telnyx', value, signing, contentType },
          notes: [`event ${describeValue(eventType)}`, `signature ${signing}`, `content-type ${contentType}`, ...noteMutations(mutations)],
        },
      ],
    };
  });

// ---- valid STOPs from fresh contacts (each checked in full at the end) ---------------------------------------------

const stop: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom('json', 'json', 'json', 'twilio', 'telnyx'), freshUsPhone, freshUsPhone, fc.constantFrom(...CHECKED_STOP_BODIES), sid, maybeMissing(normalTimestamp, 1, 2), validAuth)
  .map(([via, from, to, body, messageId, receivedAt, auth]) => {
    const notes = [`valid STOP via ${via}: ${JSON.stringify(body)}`];
    if (via === 'twilio') {
      return { kind: 'stop', steps: [{ route: 'POST /webhooks/twilio', method: 'POST', path: ['/webhooks/twilio'], auth: 'none', body: { kind: 'form', params: [['MessageSid', messageId], ['From', from], ['To', to], ['Body', body]], signing: 'valid' }, notes } as Step] };
    }
    if (via === 'telnyx') {
      return { kind: 'stop', steps: [{ route: 'POST /webhooks/telnyx', method: 'POST', path: ['/webhooks/telnyx'], auth: 'none', body: { kind: 'telnyx', value: telnyxReceived(messageId, from, to, body), signing: 'valid' }, notes } as Step] };
    }
    return { kind: 'stop', steps: [jsonStep('POST /v1/inbound', ['/v1/inbound'], { value: { messageId, from, to, body, receivedAt }, notes }, auth)] };
  });

// ---- transport: broken JSON, wrong content types, unknown routes and methods ---------------------------------------

const JSON_ROUTES: { route: string; path: string; value: fc.Arbitrary<Record<string, unknown>> }[] = [
  { route: 'POST /v1/inbound', path: '/v1/inbound', value: objectArb(SPECS.inbound, INBOUND_OVERRIDES) },
  { route: 'POST /v1/messages', path: '/v1/messages', value: objectArb(SPECS.sendMessage, SEND_OVERRIDES) },
  { route: 'POST /v1/consents', path: '/v1/consents', value: consentValue },
  { route: 'POST /v1/programs', path: '/v1/programs', value: programValue },
  { route: 'POST /v1/opt-outs', path: '/v1/opt-outs', value: objectArb(SPECS.addOptOut) },
  { route: 'POST /v1/campaigns', path: '/v1/campaigns', value: objectArb(SPECS.createCampaign, CAMPAIGN_OVERRIDES) },
];

const WRONG_CONTENT_TYPES = ['', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/jsonx', 'application/merge-patch+json', 'multipart/form-data; boundary=x', 'text/csv', 'application/json, text/plain', ';;;'];

const brokenBody: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom(...JSON_ROUTES), fc.oneof({ arbitrary: fc.constantFrom(...JSON_BREAKAGES).map((breakage) => ({ breakage, contentType: undefined as string | undefined })), weight: 3 }, { arbitrary: fc.constantFrom(...WRONG_CONTENT_TYPES).map((contentType) => ({ breakage: undefined, contentType })), weight: 2 }), anyAuth)
  .chain(([target, { breakage, contentType }, auth]) =>
    target.value.map((value) => ({
      kind: 'broken-body',
      steps: [
        {
          route: target.route,
          method: 'POST',
          path: [target.path],
          auth,
          body: { kind: 'json', value, breakage, contentType },
          notes: [breakage ? `body ${breakage}` : `content-type ${JSON.stringify(contentType)}`],
        } as Step,
      ],
    })),
  );

const strayRequest: fc.Arbitrary<Scenario> = fc
  .tuple(
    fc.constantFrom(
      ['GET', '/v1/inbound'],
      ['PUT', '/v1/messages'],
      ['GET', '/v1/consents'],
      ['DELETE', '/v1/programs'],
      ['POST', '/v1/contacts/+17202345678'],
      ['OPTIONS', '/v1/inbound'],
      ['GET', '/v1/'],
      ['GET', '/v1'],
      ['GET', '/V1/programs'],
      ['POST', '/v1/inbound/'],
      ['POST', '//v1/inbound'],
      ['POST', '/v1/%69nbound'],
      ['GET', '/v1/contacts/'],
      ['GET', '/v1/contacts/+17202345678/unknown'],
      ['GET', '/webhooks/twilio'],
      ['POST', '/webhooks/unknown'],
      ['POST', '/webhooks/twilio/status/extra'],
      ['GET', '/healthz/../v1/programs'],
      ['GET', `/v1/${'x'.repeat(5000)}`],
      ['GET', '/v1/opt-outs/imports/'],
      ['TRACE', '/healthz'],
    ),
    anyAuth,
  )
  .map(([[method, path], auth]) => ({ kind: 'stray', steps: [{ route: `${method} (other route)`, method: method!, path: [path], auth, notes: [`${method} ${path!.slice(0, 60)}`] }] }));

// ---- chains: the same fresh contact through several requests --------------------------------------------------------

const webFormConsent = (phone: FreshPhone, messageTypes: string[], program: unknown) => ({
  phone,
  type: 'express_written',
  messageTypes,
  ...(program !== undefined ? { program } : {}),
  source: { kind: 'web_form', formUrl: 'https://acme.example/signup', consentText: 'I agree to receive texts', checkboxPrechecked: false, submittedAt: '2026-11-01T10:00:00Z', ipAddress: '203.0.113.7' },
});

const consentSendStatus: fc.Arbitrary<Scenario> = fc
  .tuple(freshUsPhone, freshUsPhone, fc.constantFrom('transactional', 'promotional'), fc.constantFrom('twilio', 'telnyx'), fc.constantFrom('delivered', 'undelivered', 'failed', 'sent', 'delivery_failed'), sendBody, twilioSigning)
  .map(([contact, business, type, statusVia, status, body, signing]) => {
    const steps: Step[] = [
      jsonStep('POST /v1/consents', ['/v1/consents'], { value: webFormConsent(contact, [type], undefined), notes: ['chain: consent'] }, 'key'),
      jsonStep('POST /v1/messages', ['/v1/messages'], { value: { to: contact, from: business, type, body, idempotencyKey: new FreshId('chain-'), appendDisclosures: true }, notes: ['chain: send after consent'] }, 'key2'),
    ];
    const providerId = new Previous('providerMessageId', 'SBnone');
    if (statusVia === 'twilio') steps.push(twilioStatusStep(providerId, status, status === 'delivered' ? MISSING : '30003', [], signing));
    else
      steps.push({
        route: 'POST /webhooks/telnyx',
        method: 'POST',
        path: ['/webhooks/telnyx'],
        auth: 'none',
        body: { kind: 'telnyx', value: telnyxStatusEvent('message.finalized', providerId, status, [{ code: '40300' }]), signing: 'valid' },
        notes: ['chain: delivery status of the sent message'],
      });
    return { kind: 'chain-consent-send', steps };
  });

const programConsentSend: fc.Arbitrary<Scenario> = fc.tuple(freshUsPhone, freshUsPhone, fc.constantFrom(...VALID_FREQUENCIES)).map(([contact, business, frequency]) => {
  const program = new Previous('programId', 'undeclared-program');
  return {
    kind: 'chain-program',
    steps: [
      jsonStep('POST /v1/programs', ['/v1/programs'], { value: { id: new FreshId('prog'), businessName: 'Acme Dental', description: 'appointment reminders', frequency }, notes: ['chain: program'] }, 'key'),
      jsonStep('POST /v1/consents', ['/v1/consents'], { value: webFormConsent(contact, ['promotional'], program), notes: ['chain: consent for the program'] }, 'key'),
      jsonStep('POST /v1/messages', ['/v1/messages'], { value: { to: contact, from: business, type: 'promotional', program, body: 'Your cleaning is due.', idempotencyKey: new FreshId('prog-send-'), appendDisclosures: true }, notes: ['chain: send in the program'] }, 'key'),
      { route: 'GET /v1/contacts/:phone/can-send', method: 'GET', path: ['/v1/contacts/', contact, '/can-send'], query: [['from', business], ['type', 'promotional'], ['program', program]], auth: 'key', notes: ['chain: can-send in the program'] },
    ],
  };
});

const conversation: fc.Arbitrary<Scenario> = fc.tuple(freshUsPhone, freshUsPhone, sid).map(([contact, business, messageId]) => ({
  kind: 'chain-conversation',
  steps: [
    jsonStep('POST /v1/inbound', ['/v1/inbound'], { value: { messageId, from: contact, to: business, body: 'Is my appointment still on?' }, notes: ['chain: the contact texts first'] }, 'key'),
    jsonStep('POST /v1/messages', ['/v1/messages'], { value: { to: contact, from: business, type: 'conversational', body: 'Yes, 3pm tomorrow.', idempotencyKey: new FreshId('conv-') }, notes: ['chain: conversational reply'] }, 'key'),
    {
      route: 'POST /webhooks/telnyx',
      method: 'POST',
      path: ['/webhooks/telnyx'],
      auth: 'none',
      body: { kind: 'telnyx', value: telnyxStatusEvent('message.sent', new Previous('providerMessageId', 'SBnone'), 'sent', null), signing: 'valid' },
      notes: ['chain: telnyx status of the reply'],
    },
  ],
}));

const importThenStatus: fc.Arbitrary<Scenario> = importFile.map((file) => ({
  kind: 'chain-import',
  steps: [
    { route: 'POST /v1/opt-outs/import (text/csv)', method: 'POST', path: ['/v1/opt-outs/import'], query: [['recordedBy', 'ops@acme.example'], ...(file.column ? [['column', file.column] as [string, unknown]] : [])], auth: 'key', body: { kind: 'csv', rows: file.rows, bom: file.bom, lineEnd: file.lineEnd }, notes: ['chain: import', ...file.notes] },
    { route: 'GET /v1/opt-outs/imports/:importId', method: 'GET', path: ['/v1/opt-outs/imports/', new Previous('importId', 'none')], auth: 'key', notes: ['chain: import status right after'] },
  ],
}));

const stopThenReads: fc.Arbitrary<Scenario> = fc.tuple(freshUsPhone, freshUsPhone, sid, fc.constantFrom(...CHECKED_STOP_BODIES)).map(([contact, business, messageId, body]) => ({
  kind: 'chain-stop-reads',
  steps: [
    jsonStep('POST /v1/inbound', ['/v1/inbound'], { value: { messageId, from: contact, to: business, body }, notes: [`chain: STOP ${JSON.stringify(body)}`] }, 'key'),
    { route: 'GET /v1/contacts/:phone/can-send', method: 'GET', path: ['/v1/contacts/', contact, '/can-send'], query: [['from', business], ['type', 'transactional']], auth: 'key', notes: ['chain: can-send after STOP'] },
    { route: 'GET /v1/contacts/:phone', method: 'GET', path: ['/v1/contacts/', contact], auth: 'key', notes: ['chain: state after STOP'] },
    { route: 'GET /v1/contacts/:phone/history', method: 'GET', path: ['/v1/contacts/', contact, '/history'], auth: 'key2', notes: ['chain: history after STOP'] },
    jsonStep('POST /v1/inbound', ['/v1/inbound'], { value: { messageId, from: contact, to: business, body }, notes: ['chain: the same STOP again (duplicate message id)'] }, 'key'),
  ],
}));

/**
 * The whole mix. Weights keep roughly a quarter of the requests valid (2xx): STOPs from fresh contacts, reads,
 * signed webhooks, chains; the rest is mutated fields, broken bodies, bad keys and bad signatures.
 */
export const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(
  { arbitrary: stop, weight: 4 },
  { arbitrary: inbound, weight: 10 },
  { arbitrary: contactReads, weight: 8 },
  { arbitrary: sendMessage, weight: 6 },
  { arbitrary: recordConsent, weight: 8 },
  { arbitrary: addOptOut, weight: 6 },
  { arbitrary: upsertProgram, weight: 4 },
  { arbitrary: programsList, weight: 1 },
  { arbitrary: optOutList, weight: 4 },
  { arbitrary: optOutRemoval, weight: 2 },
  { arbitrary: csvImport, weight: 3 },
  { arbitrary: multipartImport, weight: 3 },
  { arbitrary: importStatus, weight: 1 },
  { arbitrary: twilioInbound, weight: 7 },
  { arbitrary: twilioStatus, weight: 3 },
  { arbitrary: telnyx, weight: 7 },
  { arbitrary: brokenBody, weight: 10 },
  { arbitrary: strayRequest, weight: 3 },
  { arbitrary: healthz, weight: 1 },
  { arbitrary: consentSendStatus, weight: 1 },
  { arbitrary: programConsentSend, weight: 1 },
  { arbitrary: conversation, weight: 1 },
  { arbitrary: importThenStatus, weight: 1 },
  { arbitrary: stopThenReads, weight: 1 },
  { arbitrary: createCampaign, weight: 3 },
  { arbitrary: campaignMultipart, weight: 1 },
  { arbitrary: campaignReads, weight: 2 },
  { arbitrary: campaignControl, weight: 1 },
  { arbitrary: campaignLifecycle, weight: 1 },
);
