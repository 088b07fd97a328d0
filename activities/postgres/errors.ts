/** How the engine tells a Postgres error that retrying cannot fix from one that a retry will outlast. */

/**
 * SQLSTATE classes of errors that name the data, not the database's health: 22 data exception (a NUL byte, a
 * timestamp out of range, bad JSON), 23 integrity constraint violation, 54 program limit exceeded (an index row or a
 * jsonb value too large). The same statement with the same values fails the same way every time.
 */
const PERMANENT_CLASSES = ['22', '23', '54'];

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isPermanentDataError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && PERMANENT_CLASSES.includes(code.slice(0, 2));
}
