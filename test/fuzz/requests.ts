/**
 * A generated request as data (route, auth, query, body with placeholders), and how it becomes real bytes on the
 * wire: fresh numbers and ids filled in, the body encoded (JSON, form, CSV, multipart), the webhook signed.
 */
import { createHmac, sign as ed25519Sign, type KeyObject } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { FreshId, FreshPhone, Previous, formatPhone, type PhoneAllocator } from './placeholders';
import { MISSING } from './values';

export type Auth = 'key' | 'key2' | 'lowercase' | 'missing' | 'wrong' | 'revoked' | 'malformed' | 'basic' | 'empty-bearer' | 'none';

export type TwilioSigning = 'valid' | 'none' | 'empty' | 'random' | 'wrong-token' | 'wrong-url' | 'tampered' | 'lowercased';
export type TelnyxSigning = 'valid' | 'none' | 'no-timestamp' | 'stale' | 'future' | 'garbage' | 'other-key' | 'tampered' | 'not-a-number' | 'short-signature' | 'within-tolerance';

/** Ways a JSON body can arrive broken: the value is valid, its bytes are not (or not what the route expects). */
export const JSON_BREAKAGES = [
  'truncated',
  'trailing-garbage',
  'single-quotes',
  'nan',
  'proto-key',
  'constructor-prototype',
  'deep-nesting',
  'bom',
  'empty',
  'top-level-array',
  'top-level-string',
  'top-level-null',
  'utf16',
  'invalid-utf8',
  'oversized',
  'duplicate-keys',
  'huge-number',
  'nul-byte',
] as const;
export type JsonBreakage = (typeof JSON_BREAKAGES)[number];

export interface MultipartPart {
  headers: string[];
  content: string | Buffer;
}

export type Body =
  | { kind: 'json'; value: unknown; contentType?: string; breakage?: JsonBreakage }
  | { kind: 'raw'; text: string | Buffer; contentType?: string }
  | { kind: 'form'; params: [string, unknown][]; contentType?: string; signing: TwilioSigning }
  | { kind: 'csv'; rows: unknown[][]; bom: boolean; lineEnd: '\n' | '\r\n'; contentType?: string }
  | { kind: 'multipart'; parts: MultipartPart[]; boundary: string; declaredBoundary: string | null; closing: boolean; truncateTo?: number }
  | { kind: 'telnyx'; value: unknown; signing: TelnyxSigning; contentType?: string };

/** A path segment to percent-encode (a plain string in Step.path is written as it is). */
export class PathValue {
  constructor(readonly value: string) {}
}

/** encodeURIComponent that does not throw on lone surrogates (they go out as U+FFFD, as a UTF-8 client sends them). */
export function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

export interface Step {
  /** route label for counts and the report, e.g. "POST /v1/inbound" */
  route: string;
  method: string;
  /** path pieces: strings as they are, placeholders encoded (encodeURIComponent) */
  path: unknown[];
  query?: [string, unknown][];
  auth: Auth;
  headers?: Record<string, string>;
  body?: Body;
  /** what was done to the valid request, for the report */
  notes: string[];
}

export interface Scenario {
  kind: string;
  steps: Step[];
}

/** Secrets shared with the API process. */
export interface FuzzSecrets {
  apiKeys: [string, string];
  twilioAuthToken: string;
  telnyxPrivateKey: KeyObject;
  otherPrivateKey: KeyObject;
  publicBaseUrl: string;
}

export interface ConcreteRequest {
  index: number;
  scenario: number;
  step: number;
  scenarioKind: string;
  route: string;
  method: string;
  /** path and query string */
  url: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  notes: string[];
  /** the structured body after placeholders were filled in (for expectations) */
  value: unknown;
  /** form params (Twilio) after placeholders were filled in */
  params?: [string, string][];
  /** numbers this request was given, E.164 */
  freshPhones: string[];
  /** every valid number written anywhere in the request, E.164 */
  mentioned: Set<string>;
  /** Telnyx requests are signed when sent (their timestamp is "now") */
  telnyx?: { signing: TelnyxSigning; raw: string };
  freshIds: string[];
  /** odd values in the request that often explain its answer: "NUL in body", "year 0000 in receivedAt" */
  features: string[];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TIMESTAMP = /^(\d{4})-\d\d-\d\d(?:[T ][\d:.]+(Z|[+-](\d\d):\d\d)?)?$/;

/** What is odd about a value a client sent: control characters and timestamps a database may not take. */
export function oddities(text: string, where: string, into: Set<string>): void {
  if (text.includes('\u0000')) into.add(`NUL in ${where}`);
  if (LONE_SURROGATE.test(text)) into.add(`lone surrogate in ${where}`);
  const timestamp = TIMESTAMP.exec(text.trim());
  if (timestamp) {
    const [, year, offset, hours] = timestamp;
    if (year === '0000') into.add(`year 0000 in ${where}`);
    if (year === '9999' && offset?.startsWith('-')) into.add(`past year 9999 in UTC in ${where}`);
    if (hours !== undefined && Number(hours) > 15) into.add(`offset ${offset} in ${where}`);
  }
}

function odditiesOf(value: unknown, where: string, into: Set<string>): void {
  if (typeof value === 'string') oddities(value, where || '(body)', into);
  else if (Array.isArray(value)) value.forEach((item) => odditiesOf(item, where, into));
  else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) odditiesOf(inner, where ? `${where}.${key}` : key, into);
}

/** Per scenario: a fresh number per placeholder (the same placeholder twice is the same number) and earlier answers. */
export class ScenarioContext {
  private readonly phones = new Map<FreshPhone, string>();
  private readonly ids = new Map<FreshId, string>();
  readonly previous: Record<string, string | undefined> = {};
  freshPhones: string[] = [];
  freshIds: string[] = [];

  constructor(
    private readonly allocator: PhoneAllocator,
    private readonly nextToken: () => string,
  ) {}

  phone(placeholder: FreshPhone): string {
    let e164 = this.phones.get(placeholder);
    if (!e164) {
      e164 = this.allocator.allocate(placeholder.country);
      this.phones.set(placeholder, e164);
    }
    if (!this.freshPhones.includes(e164)) this.freshPhones.push(e164);
    return formatPhone(e164, placeholder.country, placeholder.format);
  }

  id(placeholder: FreshId): string {
    let value = this.ids.get(placeholder);
    if (value === undefined) {
      value = `${placeholder.prefix}${this.nextToken()}${placeholder.suffix}`;
      this.ids.set(placeholder, value);
    }
    this.freshIds.push(value.trim());
    return value;
  }

  startStep(): void {
    this.freshPhones = [];
    this.freshIds = [];
  }
}

/** Replaces every placeholder in a value; MISSING entries are dropped. */
export function fill(value: unknown, context: ScenarioContext): unknown {
  if (value instanceof FreshPhone) return context.phone(value);
  if (value instanceof FreshId) return context.id(value);
  if (value instanceof Previous) return context.previous[value.key] ?? value.fallback;
  if (Array.isArray(value)) return value.filter((item) => item !== MISSING).map((item) => fill(item, context));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner === MISSING) continue;
      Object.defineProperty(out, key, { value: fill(inner, context), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/** Query and form values are strings: other types are written as a client would (arrays as repeated names). */
function formValues(value: unknown): string[] {
  if (value === MISSING || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(formValues);
  if (value === null) return ['null'];
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

function pairs(entries: [string, unknown][], context: ScenarioContext): [string, string][] {
  return entries.flatMap(([key, value]) => formValues(fill(value, context)).map((text) => [key, text] as [string, string]));
}

/** Twilio's URL encoding of form bodies (spaces as +), the same URLSearchParams the API reads them with. */
function encodeForm(params: [string, string][]): string {
  return new URLSearchParams(params).toString();
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  // Twilio's algorithm (client/http/webhooks/twilio.ts twilioSignature): URL, then each name and its sorted values.
  const names = [...new Set(params.keys())].sort();
  const signed = names.reduce((text, name) => text + [...new Set(params.getAll(name))].sort().map((value) => name + value).join(''), url);
  return createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
}

export function materialise(
  step: Step,
  context: ScenarioContext,
  secrets: FuzzSecrets,
  position: { index: number; scenario: number; step: number; scenarioKind: string },
): ConcreteRequest {
  context.startStep();
  const path = step.path
    .map((piece) => {
      if (typeof piece === 'string') return piece;
      if (piece instanceof PathValue) return percentEncode(piece.value);
      return percentEncode(String(fill(piece, context)));
    })
    .join('');
  const query = step.query ? pairs(step.query, context) : [];
  const url = query.length > 0 ? `${path}?${new URLSearchParams(query).toString()}` : path;
  const headers: Record<string, string> = { ...step.headers };
  const authorization = authorizationHeader(step.auth, secrets);
  if (authorization !== undefined) headers.authorization = authorization;

  let body: Buffer | undefined;
  let value: unknown;
  let params: [string, string][] | undefined;
  let telnyx: ConcreteRequest['telnyx'];
  const mentioned = new Set<string>();
  const features = new Set<string>();
  for (const [, text] of query) mention(text, mentioned);
  for (const [key, text] of query) oddities(text, `query ${key}`, features);
  oddities(decodeSafely(path), 'path', features);
  if (step.body?.kind === 'json' && step.body.breakage) features.add(`body ${step.body.breakage}`);
  mention(decodeSafely(path), mentioned);

  const spec = step.body;
  if (spec?.kind === 'json') {
    value = fill(spec.value, context);
    body = breakJson(JSON.stringify(value) ?? '', spec.breakage);
    if (spec.contentType !== '') headers['content-type'] ??= spec.contentType ?? 'application/json';
    mentionAll(value, mentioned);
    odditiesOf(value, '', features);
  } else if (spec?.kind === 'raw') {
    body = typeof spec.text === 'string' ? Buffer.from(spec.text, 'utf8') : spec.text;
    if (spec.contentType !== undefined) headers['content-type'] ??= spec.contentType;
    mention(body.toString('utf8'), mentioned);
    oddities(body.toString('utf8'), 'body', features);
  } else if (spec?.kind === 'form') {
    params = pairs(spec.params, context);
    for (const [, text] of params) mention(text, mentioned);
    for (const [key, text] of params) oddities(text, key, features);
    const encoded = encodeForm(params);
    body = Buffer.from(encoded, 'utf8');
    headers['content-type'] ??= spec.contentType ?? 'application/x-www-form-urlencoded';
    const signature = twilioHeader(spec.signing, secrets, url, params);
    if (signature !== undefined) headers['x-twilio-signature'] = signature;
    if (spec.signing === 'tampered') body = Buffer.from(`${encoded}&Injected=1`, 'utf8');
  } else if (spec?.kind === 'csv') {
    const text = csvText(spec.rows, spec.bom, spec.lineEnd, context);
    body = Buffer.from(text, 'utf8');
    headers['content-type'] ??= spec.contentType ?? 'text/csv';
    for (const cell of text.split(/[,\r\n"]/)) mention(cell, mentioned);
    oddities(text, 'file', features);
    value = text;
  } else if (spec?.kind === 'multipart') {
    const chunks: Buffer[] = [];
    for (const part of spec.parts) {
      const content = typeof part.content === 'string' ? fillText(part.content, context) : part.content;
      const text = typeof content === 'string' ? content : content.toString('utf8');
      for (const cell of text.split(/[,\r\n"]/)) mention(cell, mentioned);
      oddities(text, 'multipart part', features);
      chunks.push(Buffer.from(`--${spec.boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`, 'utf8'), typeof content === 'string' ? Buffer.from(content, 'utf8') : content, Buffer.from('\r\n'));
    }
    if (spec.closing) chunks.push(Buffer.from(`--${spec.boundary}--\r\n`));
    body = Buffer.concat(chunks);
    if (spec.truncateTo !== undefined) body = body.subarray(0, Math.min(body.length, spec.truncateTo));
    headers['content-type'] ??= spec.declaredBoundary === null ? 'multipart/form-data' : `multipart/form-data; boundary=${spec.declaredBoundary}`;
  } else if (spec?.kind === 'telnyx') {
    value = fill(spec.value, context);
    const raw = JSON.stringify(value) ?? '';
    body = Buffer.from(raw, 'utf8');
    headers['content-type'] ??= spec.contentType ?? 'application/json';
    telnyx = { signing: spec.signing, raw };
    mentionAll(value, mentioned);
    odditiesOf(value, '', features);
  }
  for (const phone of context.freshPhones) mentioned.add(phone);
  return {
    ...position,
    route: step.route,
    method: step.method,
    url,
    headers,
    body,
    notes: step.notes,
    value,
    params,
    freshPhones: [...context.freshPhones],
    mentioned,
    telnyx,
    freshIds: [...context.freshIds],
    features: [...features],
  };
}

function breakJson(text: string, breakage: JsonBreakage | undefined): Buffer {
  const utf8 = (value: string) => Buffer.from(value, 'utf8');
  switch (breakage) {
    case undefined:
      return utf8(text);
    case 'truncated':
      return utf8(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    case 'trailing-garbage':
      return utf8(`${text}}x`);
    case 'single-quotes':
      return utf8(text.replaceAll('"', "'"));
    case 'nan':
      return utf8(text.replace(/^\{/, '{"n": NaN,'));
    case 'proto-key':
      return utf8(text.replace(/^\{/, '{"__proto__": {"polluted": true},'));
    case 'constructor-prototype':
      return utf8(text.replace(/^\{/, '{"constructor": {"prototype": {"polluted": true}},'));
    case 'deep-nesting':
      return utf8(`${'['.repeat(30_000)}${']'.repeat(30_000)}`);
    case 'bom':
      return utf8(`\uFEFF${text}`);
    case 'empty':
      return Buffer.alloc(0);
    case 'top-level-array':
      return utf8(`[${text}]`);
    case 'top-level-string':
      return utf8(JSON.stringify(text));
    case 'top-level-null':
      return utf8('null');
    case 'utf16':
      return Buffer.from(text, 'utf16le');
    case 'invalid-utf8':
      return Buffer.concat([utf8(text.slice(0, -2)), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), utf8('"}')]);
    case 'oversized':
      return utf8(text.replace(/^\{/, `{"padding": "${'p'.repeat(70_000)}",`));
    case 'duplicate-keys':
      return utf8(text.replace(/^\{(.*)\}$/s, (_m, inner: string) => `{${inner},${inner.replace(/"\s*:\s*"[^"]*"/g, '": "dup"')}}`));
    case 'huge-number':
      return utf8(text.replace(/^\{/, '{"n": 1e999999, "m": -0.0000000000000000000000000000001e-999999,'));
    case 'nul-byte':
      return Buffer.concat([utf8(text.slice(0, 1)), Buffer.from([0]), utf8(text.slice(1))]);
  }
}

/** Placeholders inside multipart text parts are written as {{phone:US:e164}} / {{id:prefix}}. */
function fillText(text: string, context: ScenarioContext): string {
  return text.replace(/\{\{(phone|id):([^}]*)\}\}/g, (_match, kind: string, argument: string) => {
    if (kind === 'phone') {
      const [country, format] = argument.split(':') as [FreshPhone['country'], FreshPhone['format']];
      return context.phone(new FreshPhone(country, format));
    }
    return context.id(new FreshId(argument));
  });
}

function csvText(rows: unknown[][], bom: boolean, lineEnd: string, context: ScenarioContext): string {
  const lines = rows.map((row) => row.map((cell) => (cell === MISSING ? '' : csvCell(String(fill(cell, context))))).join(','));
  return `${bom ? '\uFEFF' : ''}${lines.join(lineEnd)}${lineEnd}`;
}

/** The Telnyx headers for a body, signed now (a timestamp more than 300 s away is refused). */
export function telnyxHeaders(signing: TelnyxSigning, raw: string, secrets: FuzzSecrets, nowSeconds: number): Record<string, string> {
  const signWith = (key: KeyObject, timestamp: string, text: string) => ed25519Sign(null, Buffer.from(`${timestamp}|${text}`, 'utf8'), key).toString('base64');
  const now = String(nowSeconds);
  switch (signing) {
    case 'valid':
      return { 'telnyx-timestamp': now, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, now, raw) };
    case 'within-tolerance': {
      const earlier = String(nowSeconds - 200);
      return { 'telnyx-timestamp': earlier, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, earlier, raw) };
    }
    case 'none':
      return {};
    case 'no-timestamp':
      return { 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, now, raw) };
    case 'stale': {
      const stale = String(nowSeconds - 1000);
      return { 'telnyx-timestamp': stale, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, stale, raw) };
    }
    case 'future': {
      const future = String(nowSeconds + 1000);
      return { 'telnyx-timestamp': future, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, future, raw) };
    }
    case 'garbage':
      return { 'telnyx-timestamp': now, 'telnyx-signature-ed25519': '!!not base64 at all!!' };
    case 'short-signature':
      return { 'telnyx-timestamp': now, 'telnyx-signature-ed25519': Buffer.from('short').toString('base64') };
    case 'other-key':
      return { 'telnyx-timestamp': now, 'telnyx-signature-ed25519': signWith(secrets.otherPrivateKey, now, raw) };
    case 'tampered':
      return { 'telnyx-timestamp': now, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, now, `${raw} `) };
    case 'not-a-number':
      return { 'telnyx-timestamp': `${now}.5`, 'telnyx-signature-ed25519': signWith(secrets.telnyxPrivateKey, `${now}.5`, raw) };
  }
}

function twilioHeader(signing: TwilioSigning, secrets: FuzzSecrets, url: string, params: [string, string][]): string | undefined {
  const search = new URLSearchParams(params);
  const fullUrl = `${secrets.publicBaseUrl}${url}`;
  switch (signing) {
    case 'valid':
    case 'tampered':
      return twilioSignature(secrets.twilioAuthToken, fullUrl, search);
    case 'lowercased':
      return twilioSignature(secrets.twilioAuthToken, fullUrl, search).toLowerCase();
    case 'none':
      return undefined;
    case 'empty':
      return '';
    case 'random':
      return createHmac('sha1', 'random').update(url).digest('base64');
    case 'wrong-token':
      return twilioSignature(`${secrets.twilioAuthToken}x`, fullUrl, search);
    case 'wrong-url':
      return twilioSignature(secrets.twilioAuthToken, `http://127.0.0.1${url}`, search);
  }
}

function authorizationHeader(auth: Auth, secrets: FuzzSecrets): string | undefined {
  switch (auth) {
    case 'key':
      return `Bearer ${secrets.apiKeys[0]}`;
    case 'key2':
      return `Bearer ${secrets.apiKeys[1]}`;
    case 'lowercase':
      return `bearer ${secrets.apiKeys[0]}`;
    case 'missing':
    case 'none':
      return undefined;
    case 'wrong':
      return `Bearer ${secrets.apiKeys[0].slice(0, -1)}X`;
    case 'revoked':
      return 'Bearer fuzz-revoked-key-0000000000';
    case 'malformed':
      return `Bearer ${secrets.apiKeys[0]} extra`;
    case 'basic':
      return `Basic ${Buffer.from(`user:${secrets.apiKeys[0]}`).toString('base64')}`;
    case 'empty-bearer':
      return 'Bearer ';
  }
}

function decodeSafely(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Records the E.164 of a string that names a valid number (the API's reading: default country US). */
function mention(text: string, into: Set<string>): void {
  // Nothing longer than the API's 32-character phone limit (plus a path or tel: prefix) can be a number it reads.
  if (text.length > 64 || (text.match(/\d/g)?.length ?? 0) < 5) return;
  let found = mentionCache.get(text);
  if (found === undefined) {
    found = [];
    for (const candidate of [text, ...text.split('/')]) {
      try {
        const parsed = parsePhoneNumberFromString(candidate.trim(), 'US');
        if (parsed?.isValid()) found.push(parsed.number);
      } catch {
        // not a number
      }
    }
    if (mentionCache.size > 200_000) mentionCache.clear();
    mentionCache.set(text, found);
  }
  for (const phone of found) into.add(phone);
}

const mentionCache = new Map<string, string[]>();

function mentionAll(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') mention(value, into);
  else if (Array.isArray(value)) for (const item of value) mentionAll(item, into);
  else if (value && typeof value === 'object') for (const inner of Object.values(value)) mentionAll(inner, into);
}
