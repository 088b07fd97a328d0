/** The JSON-lines logger of every process (pino): one line per event, with `level`, `time`, `name` and the event's fields. */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Environment } from './config';

export type { Logger };

/** Secrets that could reach a log line by accident (a connection's options, a config object) are censored. */
export const REDACTED_LOG_PATHS = [
  'apiKey', '*.apiKey', 'TEMPORAL_API_KEY', '*.TEMPORAL_API_KEY', 'TWILIO_AUTH_TOKEN', '*.TWILIO_AUTH_TOKEN',
  'authorization', '*.authorization', 'clientCertPair.key', '*.clientCertPair.key', '*.*.clientCertPair.key',
  // request headers, whoever logs them: the API key and the webhook signatures
  'req.headers.authorization', 'req.headers["x-twilio-signature"]', 'req.headers["telnyx-signature-ed25519"]',
  'headers["x-twilio-signature"]', 'headers["telnyx-signature-ed25519"]',
];

/** `destination`: where lines go (tests pass a sink); default stdout. */
export function createLogger(level: Environment['LOG_LEVEL'], name: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      // The SDK reports failures under `error`; pino only serialises `err` by default.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      // "level":"info" rather than 30: readable as it is, and what log pipelines match on.
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: the last lines before process.exit ("drained, exiting", a fatal error) are never lost in a buffer.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
