/**
 * A command's input, checked before anything is connected: its fields by the shared edge schemas (client/schemas.ts,
 * the ones ConsentClient applies again), and the files it reads or writes by the file system.
 */
import type { WriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { z } from 'zod';
import { nulByteProblem } from '../../activities/suppression/csv';
import { describeIssues } from '../../workflows/domain/schemas';
import { InvalidInputError } from '../consent-client';

/** The schema's verdict, as ConsentClient would throw it (fields renamed to the CLI's options when printed). */
export function checkInput<S extends z.ZodType>(schema: S, input: unknown, field?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  throw new InvalidInputError(field ? issues.map((issue) => ({ ...issue, field: issue.field === '(body)' ? field : `${field}.${issue.field}` })) : issues);
}

const fileProblem = (field: string, message: string) => new InvalidInputError([{ field, message }]);

/** What an errno means to an operator who named the file. */
function describeFileError(error: unknown, file: string, verb: 'read' | 'write'): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: verb === 'read' ? 'no such file' : 'its directory does not exist',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
    ENXIO: 'cannot be opened (a socket or a device, not a file)',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'the path is too long',
  };
  return `cannot ${verb} ${file}: ${(code && why[code]) ?? message}${code ? ` (${code})` : ''}`;
}

/** A suppression list from disk: a readable file of UTF-8 text (its CSV and its numbers are checked by the import itself). */
export async function readImportFile(file: string, field: string): Promise<string> {
  let bytes: Buffer;
  try {
    if ((await stat(file)).isDirectory()) throw fileProblem(field, `${file} is a directory, not a file`);
    bytes = await readFile(file);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw fileProblem(field, describeFileError(error, file, 'read'));
  }
  let content: string;
  try {
    content = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fileProblem(field, `${file} is not UTF-8 text (a binary file, or another encoding such as UTF-16): a suppression list is CSV text`);
  }
  const nul = nulByteProblem(content);
  if (nul) throw fileProblem(field, `${file} is not UTF-8 text: ${nul}`);
  return content;
}

/** Opens --output before anything is connected (like a shell's `>`), so a bad path exits 2 at once. */
export async function openOutput(file: string, field: string): Promise<WriteStream> {
  try {
    return (await open(file, 'w')).createWriteStream();
  } catch (error) {
    throw fileProblem(field, describeFileError(error, file, 'write'));
  }
}
