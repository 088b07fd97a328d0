/** Every environment variable the service reads, with its default, validated once at start. */
import { z } from 'zod';
import { DEFAULT_KEYWORD_SETTINGS, type KeywordLanguage, type KeywordSettings } from '../workflows/domain/keywords';
import { DEFAULT_ACCOUNT_PROFILE, DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, type AccountProfile } from '../workflows/domain/settings';
import { ALL_DAY_QUIET_HOURS_RULES, QUIET_HOURS_RULES, secondsOfDay, type ComplianceClockSettings, type QuietHoursWindow } from '../workflows/domain/compliance-clock';
import { MESSAGE_TYPES } from '../workflows/domain/schemas';
import { parseConfiguredEventSubscriptions } from '../workflows/domain/consent-events';
import { consoleEnvironmentShape } from './http/console/settings';
import { secretDigest } from './http/secret-compare';
import { TELNYX_KEYWORD_REPLY_MODES, TWILIO_KEYWORD_REPLY_MODES } from './http/webhooks/keyword-replies';
import { temporalConnectionOptions, type TemporalConnectionOptions } from './temporal-connection';

const commaList = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());

/** The providers whose inbound webhooks the API can verify (client/http/webhooks/). */
export const WEBHOOK_PROVIDERS = ['twilio', 'telnyx'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/** A bearer key short enough to guess is no key; 16 characters is the floor, a random 32+ is the advice. */
const MIN_API_KEY_LENGTH = 16;

/**
 * What an API key may do; client/http/api-keys.ts says which scope each /v1 route needs. `inbound` can lift an
 * opt-out (a START posted as the contact's text), so only the SMS gateway that relays the contact's texts should hold it.
 */
export const API_KEY_SCOPES = ['inbound', 'send', 'operator', 'read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** One entry of API_KEYS. Only the key's digest is kept, so no configuration dump or log can show the key. */
export interface ApiKey {
  /** who holds it: in the 403 answer and in the ledger of the texts it delivers */
  name: string;
  scopes: readonly ApiKeyScope[];
  /** SHA-256 of the key, as secretDigest makes it */
  digest: Buffer;
  /** written without name or scopes (the format before scopes): it holds every scope */
  bare: boolean;
}

const API_KEY_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A bare key's name: enough of its digest to tell keys apart, too little to help guess one. */
const BARE_KEY_NAME_HEX_DIGITS = 12;

/**
 * API_KEYS entries, `name:scope+scope:key` or a bare key (no ':'). Problems name the entry by its position (1-based,
 * as written between commas) and never quote it: any part of an entry that fails to parse may be part of a key.
 */
export function parseApiKeys(entries: readonly string[]): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const positions: number[] = [];
  for (const [index, written] of entries.entries()) {
    const entry = written.trim();
    if (entry.length === 0) continue;
    const parsed = parseApiKeyEntry(entry);
    if (typeof parsed === 'string') {
      problems.push(`entry ${index + 1}: ${parsed}`);
      continue;
    }
    const same = keys.findIndex((key) => key.digest.equals(parsed.digest));
    // Two scope lists for one key would leave it unclear which applies.
    if (same >= 0) {
      problems.push(`entry ${index + 1}: the same key as entry ${positions[same]}; list each key once`);
      continue;
    }
    keys.push(parsed);
    positions.push(index + 1);
  }
  return { keys, problems };
}

function parseApiKeyEntry(entry: string): ApiKey | string {
  if (!entry.includes(':')) {
    const problem = secretProblem(entry);
    if (problem) return problem;
    const digest = secretDigest(entry);
    return { name: digest.toString('hex').slice(0, BARE_KEY_NAME_HEX_DIGITS), scopes: API_KEY_SCOPES, digest, bare: true };
  }
  // The key may itself contain ':'; only the first two separate the name and the scopes.
  const parts = /^([^:]*):([^:]*):(.*)$/s.exec(entry);
  if (!parts) return "has one ':'; write name:scopes:key (or a bare key, without ':')";
  const [, name = '', scopeList = '', secret = ''] = parts;
  if (!API_KEY_NAME.test(name)) return "the name (before the first ':') must be 1 to 64 letters, digits, - or _";
  if (scopeList === '') return "names no scope (between the first and second ':')";
  const scopes: ApiKeyScope[] = [];
  for (const [position, scope] of scopeList.split('+').entries()) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
      return `scope ${position + 1} (between the first and second ':') is not one of ${API_KEY_SCOPES.join(', ')} (join several with +)`;
    }
    if (!scopes.includes(scope as ApiKeyScope)) scopes.push(scope as ApiKeyScope);
  }
  return secretProblem(secret) ?? { name, scopes, digest: secretDigest(secret), bare: false };
}

function secretProblem(secret: string): string | undefined {
  if (secret.length < MIN_API_KEY_LENGTH) return `the key must be at least ${MIN_API_KEY_LENGTH} characters`;
  // A bearer token is one run of non-space characters: a key with a space in it could never be presented.
  if (/\s/.test(secret)) return 'the key may not contain spaces';
  return undefined;
}

/** Telnyx shows its Ed25519 public key in the portal as base64 of the raw 32 bytes. */
const telnyxPublicKeySchema = z
  .string()
  .trim()
  .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, 'must be the base64 of a 32-byte Ed25519 key, as the Telnyx portal shows it');

/** Contact actors a worker keeps in memory between events: each holds about 1 MB (measured), evicted ones replay. */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

const environmentSchema = z.object({
  NODE_ENV: z.preprocess(emptyAsUndefined, z.string().default('development')),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** Bearer keys for /v1, comma-separated, each `name:scopes:key` (or bare): several at once let a key be rotated; removing one revokes it. */
  API_KEYS: z
    .string()
    .default('')
    .transform((value, context) => {
      const { keys, problems } = parseApiKeys(value.split(','));
      for (const message of problems) context.addIssue({ code: 'custom', message });
      return keys;
    }),
  /** The URL the providers call, e.g. https://sms.example.com, when a proxy stands in front (Twilio signs that URL). */
  PUBLIC_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://sms.example.com' }).optional()),
  /** Unset: twilio when SMS_PROVIDER=twilio, else none. Each listed provider needs its secret. */
  WEBHOOK_PROVIDERS: z.preprocess(emptyAsUndefined, commaList.pipe(z.array(z.enum(WEBHOOK_PROVIDERS))).optional()),
  DATABASE_URL: optionalString,
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('sms-consent'),
  // A remote cluster or Temporal Cloud: mTLS client certificate and/or API key (client/temporal-connection.ts).
  TEMPORAL_TLS: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).optional()),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_CLI: optionalString,
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  DATA_DIR: z.string().min(1).default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_BIND_ADDRESS: z.preprocess(
    emptyAsUndefined,
    z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464').optional(),
  ),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** contact actors a worker keeps in memory (about 1 MB each); more are replayed from history when next used */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(DEFAULT_MAX_CACHED_WORKFLOWS),
  DEFAULT_COUNTRY: z.string().length(2).toUpperCase().default('US'),
  BUSINESS_NAME: z.string().min(1).default(DEFAULT_ACCOUNT_PROFILE.businessName),
  HELP_CONTACT: z.string().min(1).default(DEFAULT_ACCOUNT_PROFILE.helpContact),
  MESSAGE_FREQUENCY: z.string().min(1).default(DEFAULT_ACCOUNT_PROFILE.messageFrequency),
  PROGRAM_DESCRIPTION: z.string().min(1).default(DEFAULT_ACCOUNT_PROFILE.programDescription),
  SEND_DECISION_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** how long a signal may take to reach Temporal before the API keeps it in the signal backlog (README, Temporal unreachable) */
  SIGNAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** how often the API delivers the signal backlog to the actors */
  SIGNAL_BACKLOG_DRAIN_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** consent events out: a JSON list of `{ id, url, secrets: ["whsec_…"], events: [...], description? }` (README, Consent events) */
  EVENT_SUBSCRIPTIONS: z.string().default('').transform((value, context) => {
    const { subscriptions, problems } = parseConfiguredEventSubscriptions(value);
    for (const message of problems) context.addIssue({ code: 'custom', message });
    return subscriptions;
  }),
  SMS_PROVIDER: z.enum(['sandbox', 'twilio']).default('sandbox'),
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_BASE_URL: z.preprocess(emptyAsUndefined, z.url().default('https://api.twilio.com')),
  TWILIO_MESSAGING_SERVICE_SID: optionalString,
  TWILIO_STATUS_CALLBACK_URL: optionalString,
  TELNYX_PUBLIC_KEY: z.preprocess(emptyAsUndefined, telnyxPublicKeySchema.optional()),
  /**
   * Who answers STOP, START and HELP that arrive through a provider's webhook (client/http/webhooks/keyword-replies.ts):
   * `engine` (the default) confirms every one itself; the others say the provider already did, as its own keyword
   * handling is set up, so the engine records the provider's confirmation and sends none of its own for those.
   */
  TWILIO_KEYWORD_REPLIES: z.enum(TWILIO_KEYWORD_REPLY_MODES).default('engine'),
  TELNYX_KEYWORD_REPLIES: z.enum(TELNYX_KEYWORD_REPLY_MODES).default('engine'),
  KEYWORD_MODE: z.enum(['phrases', 'strict']).default('phrases'),
  KEYWORD_LANGUAGES: commaList.pipe(z.array(z.enum(['es', 'fr']))),
  OPT_OUT_KEYWORDS: commaList,
  RESUBSCRIBE_KEYWORDS: commaList,
  HELP_KEYWORDS: commaList,
  CONTACT_CONTINUE_AS_NEW_AFTER_EVENTS: z.coerce.number().int().min(100).default(DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS),
  /** consent-rules.md §9: the message types quiet hours apply to when a send names no program (programs say their own) */
  QUIET_HOURS_TYPES: z.preprocess((value) => value ?? 'promotional', commaList.pipe(z.array(z.enum(MESSAGE_TYPES)))),
  /** the account's own sending windows, narrower than the statutes': `federal=09:00-20:00,CA=09:00-20:00` */
  QUIET_HOURS_WINDOWS: z.string().default('').transform((value, context) => {
    const { windows, problems } = parseQuietHoursWindows(value);
    for (const message of problems) context.addIssue({ code: 'custom', message });
    return windows;
  }),
  /** `statutes` (the default); `all-day` replaces every statute's window with the whole day: for sandboxes and tests only */
  QUIET_HOURS_RULES: z.enum(['statutes', 'all-day']).default('statutes'),
  /** consent-rules.md §10: how long a double opt-in waits for its confirmation, and the replies that confirm it */
  DOUBLE_OPT_IN_WINDOW_DAYS: z.coerce.number().min(1 / 1440).max(365).default(30),
  DOUBLE_OPT_IN_KEYWORDS: z.preprocess((value) => value ?? 'Y,YES', commaList.pipe(z.array(z.string().max(20).transform((word) => word.toUpperCase())).min(1, 'must name at least one reply'))),
  // CONSOLE_SESSION_SECRET, TEMPORAL_UI_URL (client/http/console/settings.ts)
  ...consoleEnvironmentShape,
}).transform((env) => ({
  ...env,
  // The provider that sends is the one whose STOPs come back, unless the operator says otherwise.
  WEBHOOK_PROVIDERS: env.WEBHOOK_PROVIDERS ?? (env.SMS_PROVIDER === 'twilio' ? ['twilio' as const] : []),
}));

export type Environment = z.infer<typeof environmentSchema>;

export interface ServiceConfig {
  env: Environment;
  profile: AccountProfile;
  keywords: KeywordSettings;
  /** consent-rules.md §9: what the gate and the can-send answer apply */
  clock: ComplianceClockSettings;
  /** consent-rules.md §10 */
  doubleOptIn: { windowMs: number; keywords: string[] };
}

/** `federal=09:00-20:00,FL=09:00-19:30`: each window one more layer (it can only narrow what the statutes allow). */
export function parseQuietHoursWindows(value: string): { windows: Record<string, QuietHoursWindow>; problems: string[] } {
  const windows: Record<string, QuietHoursWindow> = {};
  const problems: string[] = [];
  for (const part of value.split(',').map((item) => item.trim()).filter((item) => item.length > 0)) {
    const match = /^(federal|[A-Z]{2})=(\d{2}:\d{2}(?::\d{2})?)-(\d{2}:\d{2}(?::\d{2})?)$/.exec(part);
    if (!match) {
      problems.push(`"${part}" must read region=HH:MM-HH:MM, the region being "federal" or a two-letter state code`);
      continue;
    }
    const [, region, start, end] = match as unknown as [string, string, string, string];
    try {
      if (secondsOfDay(start) >= secondsOfDay(end)) problems.push(`"${part}": the window must end after it starts`);
      else windows[region] = { start, end };
    } catch (error) {
      problems.push(`"${part}": ${(error as Error).message}`);
    }
  }
  return { windows, problems };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const parsed = environmentSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  if (env.SMS_PROVIDER === 'twilio' && (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN)) {
    throw new Error('invalid configuration:\n  SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
  }
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
    throw new Error('invalid configuration:\n  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (the mTLS client certificate and its key)');
  }
  if (env.TEMPORAL_TLS === 'false' && (env.TEMPORAL_TLS_CERT_PATH || env.TEMPORAL_TLS_CA_PATH || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY)) {
    throw new Error('invalid configuration:\n  TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings, which need TLS');
  }
  return {
    env,
    profile: {
      businessName: env.BUSINESS_NAME,
      helpContact: env.HELP_CONTACT,
      messageFrequency: env.MESSAGE_FREQUENCY,
      programDescription: env.PROGRAM_DESCRIPTION,
    },
    clock: {
      quietHoursTypes: env.QUIET_HOURS_TYPES,
      windows: env.QUIET_HOURS_WINDOWS,
      rules: env.QUIET_HOURS_RULES === 'all-day' ? ALL_DAY_QUIET_HOURS_RULES : QUIET_HOURS_RULES,
    },
    doubleOptIn: { windowMs: Math.round(env.DOUBLE_OPT_IN_WINDOW_DAYS * 86_400_000), keywords: env.DOUBLE_OPT_IN_KEYWORDS },
    keywords: {
      ...DEFAULT_KEYWORD_SETTINGS,
      optOut: env.OPT_OUT_KEYWORDS,
      resubscribe: env.RESUBSCRIBE_KEYWORDS,
      help: env.HELP_KEYWORDS,
      mode: env.KEYWORD_MODE,
      languages: env.KEYWORD_LANGUAGES as KeywordLanguage[],
    },
  };
}

/** Where a worker or API process started on its own connects: it needs DATABASE_URL; Temporal defaults to the dev port. */
export async function standaloneEndpoints(env: Environment, role: 'worker' | 'API'): Promise<ServiceEndpoints> {
  if (!env.DATABASE_URL) throw new Error(`DATABASE_URL is required to run the ${role} on its own (npm start provides one)`);
  return { temporal: await temporalConnectionOptions(env), databaseUrl: env.DATABASE_URL };
}

export interface ServiceEndpoints {
  temporal: TemporalConnectionOptions;
  databaseUrl: string;
}
