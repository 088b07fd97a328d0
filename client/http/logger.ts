/** The API's pino logger. Credentials and signatures never reach a log line, whoever logs the request's headers. */
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'req.headers["telnyx-signature-ed25519"]',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  'headers["telnyx-signature-ed25519"]',
];

export function createApiLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, name: 'api', redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, destination);
}
