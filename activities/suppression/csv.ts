/**
 * Reads a suppression list (consent-rules.md §7): one number a row in E.164, with a header row, a BOM, CRLF line
 * ends, blank lines and surrounding white space tolerated, and the column chosen by name or position.
 */
import { parse } from 'csv-parse/sync';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type SuppressionRow =
  | { line: number; value: string; phone: string; outcome: 'pending' }
  | { line: number; value: string; phone: string; outcome: 'duplicate'; reason: string }
  | { line: number; value: string; phone: null; outcome: 'invalid'; reason: string };

export interface ParsedSuppressionList {
  /** the header row's cells, when the file has one */
  header: string[] | null;
  /** the 0-based column the numbers were read from */
  columnIndex: number;
  /** every data row (blank lines and the header excluded), in file order, with its 1-based line number */
  rows: SuppressionRow[];
}

/** The file cannot be read as a list at all (no such column, not CSV): nothing is imported. */
export class SuppressionFileError extends Error {
  override readonly name = 'SuppressionFileError';
}

/** `column`: a header name (case-insensitive) or a 1-based position; default the first column. */
export function parseSuppressionList(content: string, column?: string): ParsedSuppressionList {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(content, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      relax_quotes: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new SuppressionFileError(`the file is not readable as CSV: ${(error as Error).message}`);
  }
  // A row of empty cells (",,") is a blank line too.
  const nonBlank = records.filter(({ record }) => record.some((cell) => cell !== ''));
  const first = nonBlank[0]?.record;
  const { header, columnIndex } = chooseColumn(first, column);
  const dataRecords = header ? nonBlank.slice(1) : nonBlank;

  const firstLineOf = new Map<string, number>();
  const rows: SuppressionRow[] = dataRecords.map(({ record, info }) => {
    const line = info.lines;
    const value = record[columnIndex] ?? '';
    const checked = checkNumber(value, header?.[columnIndex] ?? `column ${columnIndex + 1}`);
    if ('reason' in checked) return { line, value, phone: null, outcome: 'invalid', reason: checked.reason };
    const earlier = firstLineOf.get(checked.phone);
    if (earlier !== undefined) return { line, value, phone: checked.phone, outcome: 'duplicate', reason: `duplicate of line ${earlier}` };
    firstLineOf.set(checked.phone, line);
    return { line, value, phone: checked.phone, outcome: 'pending' };
  });
  return { header, columnIndex, rows };
}

function chooseColumn(first: string[] | undefined, column: string | undefined): { header: string[] | null; columnIndex: number } {
  const looksLikeHeader = (cells: string[], index: number) => !/\d/.test(cells[index] ?? '');
  if (column === undefined || column.trim() === '') {
    return { header: first && looksLikeHeader(first, 0) ? first : null, columnIndex: 0 };
  }
  if (/^\d+$/.test(column.trim())) {
    const columnIndex = Number(column) - 1;
    if (columnIndex < 0) throw new SuppressionFileError('column: positions start at 1');
    return { header: first && looksLikeHeader(first, columnIndex) ? first : null, columnIndex };
  }
  const wanted = column.trim().toLowerCase();
  const columnIndex = first?.findIndex((cell) => cell.toLowerCase() === wanted) ?? -1;
  if (!first || columnIndex < 0) {
    throw new SuppressionFileError(
      `column: "${column}" is not in the header row${first ? ` (${first.map((cell) => `"${cell}"`).join(', ')})` : ' (the file is empty)'}`,
    );
  }
  return { header: first, columnIndex };
}

/** E.164 is required (no default country is guessed for a list); spaces, dots and dashes inside are allowed. */
function checkNumber(value: string, columnName: string): { phone: string } | { reason: string } {
  if (value === '') return { reason: `${columnName} is empty` };
  if (!/^\+[\d\s().-]+$/.test(value)) {
    return { reason: `"${value}" is not in E.164: it must start with + and the country code, digits only (e.g. +14155550123)` };
  }
  const parsed = parsePhoneNumberFromString(value);
  if (!parsed || !parsed.isValid()) {
    return { reason: `"${value}" is not a valid phone number${parsed?.country ? ` for ${parsed.country}` : ''}` };
  }
  return { phone: parsed.number };
}

/**
 * A suppression list is CSV text. NUL bytes are what binary files and UTF-16 exports (Excel's "Unicode text") are
 * full of, and no row of them can be stored: such a file is refused whole, by the CLI and the HTTP import alike.
 */
export function nulByteProblem(content: string): string | undefined {
  const nul = content.indexOf('\u0000');
  if (nul < 0) return undefined;
  const line = content.slice(0, nul).split('\n').length;
  return `it has a NUL byte (line ${line}), as binary and UTF-16 files do; a suppression list is CSV text`;
}
