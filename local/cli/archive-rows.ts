/**
 * Rows of archive queries as the report and the policy suggestions read them: objects by column
 * name, identical rows once (the archive is written at least once, so a record may be archived
 * twice; the verifier counts such copies, evidence names each fact once), and the JSON arrays the
 * archive's data carries, read defensively (record data is untrusted).
 */
import type { QueryRun } from '../../lambdas/adapters/athena/athena-query-runner.ts';

export type Row = Readonly<Record<string, string | null>>;

/** A column of a row: null when SQL NULL or not selected. */
export const cell = (row: Row, column: string): string | null => row[column] ?? null;

export function distinctRows(run: QueryRun): Row[] {
  const seen = new Set<string>();
  const rows: Row[] = [];
  for (const row of run.rows) {
    const key = JSON.stringify(row);
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push(Object.fromEntries(run.columns.map((column, index) => [column.name, row[index] ?? null])));
  }
  return rows;
}

/** A JSON array of strings from the archive, or [] when absent or not one. */
export function stringArray(text: string | null): string[] {
  if (text === null) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}
