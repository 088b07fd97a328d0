/**
 * What went wrong in a CLI run, as its exit code and one line an operator can act on: the field (option, argument or
 * environment variable) and why, or the dependency and its error. Never a stack trace.
 */
import { ServiceError, WorkflowFailedError } from '@temporalio/client';
import { CommanderError, type Command } from 'commander';
import { DatabaseError } from 'pg';
import { ContactStateUnavailableError, InvalidInputError, NotFoundError } from '../consent-client';

/** README "Operator CLI": 0 done, 1 a dependency failed, 2 invalid input (naming the field), 3 a send was refused. */
/** `unknown`: a send began and nothing confirms whether the provider took it (OUTCOME_UNKNOWN); it may have gone out. */
export const EXIT = { ok: 0, failed: 1, invalidInput: 2, refused: 3, unknown: 4 } as const;

/** The environment (or the endpoints `npm start` wrote) cannot be used: names each variable and why. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map(({ variable, message }) => (variable ? `${variable}: ${message}` : message)).join('; ')}`);
  }
}

export type Dependency = 'Temporal' | 'Postgres';

/** A dependency could not be reached or failed: says which, and its own message. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
  constructor(readonly dependency: Dependency, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A dependency's errors as the CLI meets them mid-command, for the errors that say whose they are. */
function dependencyOf(error: unknown): Dependency | undefined {
  if (error instanceof DatabaseError) return 'Postgres';
  if (error instanceof ServiceError || error instanceof WorkflowFailedError || error instanceof ContactStateUnavailableError) return 'Temporal';
  return undefined;
}

/** A schema field as the operator typed it: `to` is `--to`, `phone` is the `<phone>` argument; others stay as they are. */
export function cliFieldName(command: Command | undefined, field: string): string {
  if (!command) return field;
  const [head = field, ...rest] = field.split('.');
  const option = command.options.find((candidate) => candidate.attributeName() === head);
  if (option?.long) return [option.long, ...rest].join('.');
  const argument = command.registeredArguments.find((candidate) => candidate.name() === head || candidate.name().split('.')[0] === head);
  return argument ? `<${argument.name()}>` : field;
}

/** Node errors can carry several (AggregateError: every address of `localhost` refused) and none of their own. */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(errorMessage).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** The exit code and the line for stderr (undefined: commander has already said it, or it was --help). */
export function describeFailure(error: unknown, command?: Command): { code: number; line?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput };
  if (error instanceof InvalidInputError) {
    const issues = error.issues.map(({ field, message }) => `${cliFieldName(command, field)}: ${message}`);
    return { code: EXIT.invalidInput, line: oneLine(`error: invalid input: ${issues.join('; ')}`) };
  }
  if (error instanceof ConfigurationError || error instanceof NotFoundError) return { code: EXIT.invalidInput, line: oneLine(`error: ${error.message}`) };
  if (error instanceof DependencyError) return { code: EXIT.failed, line: oneLine(`error: ${error.dependency}: ${error.message}`) };
  const dependency = dependencyOf(error);
  return { code: EXIT.failed, line: oneLine(`error: ${dependency ? `${dependency}: ` : ''}${errorMessage(error)}`) };
}
