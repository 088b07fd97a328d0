/**
 * The console's environment variables: client/config.ts validates them at start with the rest (so a bad value stops
 * the API), and the console reads them again when the API builds it.
 */
import { z } from 'zod';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

export const consoleEnvironmentShape = {
  /** signs the console's session cookies (HMAC-SHA256); unset: a random secret per process, so sessions end at a restart */
  CONSOLE_SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters, e.g. `openssl rand -hex 32`').optional()),
  /** the Temporal Web UI the console links each contact's workflow history to */
  TEMPORAL_UI_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://localhost:8233' }).default('http://localhost:8233')),
};

export interface ConsoleSettings {
  sessionSecret: string | undefined;
  /** without a trailing slash */
  temporalUiUrl: string;
}

export function loadConsoleSettings(source: NodeJS.ProcessEnv = process.env): ConsoleSettings {
  const parsed = z.object(consoleEnvironmentShape).safeParse(source);
  if (!parsed.success) throw new Error(`invalid configuration:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`);
  return { sessionSecret: parsed.data.CONSOLE_SESSION_SECRET, temporalUiUrl: parsed.data.TEMPORAL_UI_URL.replace(/\/+$/, '') };
}
