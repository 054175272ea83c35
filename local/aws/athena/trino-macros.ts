/**
 * The Trino (Athena engine v3) functions the named queries and the report use that DuckDB lacks,
 * as DuckDB macros of the same name and meaning, so the same SQL text runs in AWS and in the twin:
 *
 * - `json_extract_scalar(json, path)`: the scalar at `path` as varchar (DuckDB's json_extract_string).
 * - `json_format(json)`: JSON as its text.
 * - `from_iso8601_timestamp(text)`: an ISO 8601 timestamp with its zone.
 * - `approx_percentile(x, p)`: DuckDB's approx_quantile (an aggregate: the macro expands inside it).
 *
 * Everything else the queries call exists in both with the same meaning (count, min, max, substr,
 * date_diff, current_timestamp, json_extract, COALESCE, CASE).
 */
export const TRINO_MACROS: readonly string[] = [
  'CREATE MACRO json_extract_scalar(document, path) AS json_extract_string(document, path)',
  'CREATE MACRO json_format(document) AS CAST(document AS VARCHAR)',
  'CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)',
  'CREATE MACRO approx_percentile(x, p) AS approx_quantile(x, p)',
];
