/**
 * The evidence report as one self-contained file: HTML (inline CSS allowed by its hash in the
 * page's CSP, inline SVG charts drawn with presentation attributes, no script, no external
 * resource), Markdown, or CSV. The three render the same tables (`reportTables`), so they say the
 * same thing. Every value from the archive is untrusted and escaped for the format it lands in.
 */
import { createHash } from 'node:crypto';
import { CONTROLS, type EvidenceSection, SECTION_TITLES } from './controls.ts';
import type { DecisionEvidence, EvidenceReport } from './evidence.ts';

export const REPORT_FORMATS = ['html', 'md', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportTable {
  readonly id: EvidenceSection | 'controls' | 'queries';
  readonly title: string;
  readonly note?: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const text = (value: string | null | undefined) => value ?? '';
const list = (values: readonly string[]) => values.join(', ');

export interface DayFigures {
  readonly day: string;
  readonly decisions: number;
  readonly p50Seconds: number | null;
  readonly p95Seconds: number | null;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Decisions per UTC day of the period (days without any included) and time to decision. */
export function dayFigures(report: EvidenceReport): DayFigures[] {
  const byDay = new Map<string, DecisionEvidence[]>();
  for (let at = report.period.from.getTime(); at < report.period.to.getTime(); at += 86_400_000) {
    byDay.set(new Date(at).toISOString().slice(0, 10), []);
  }
  for (const decision of report.decisions) {
    const day = decision.decidedAt.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), decision]);
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, decisions]) => {
      const seconds = decisions
        .map((decision) => decision.secondsToDecision)
        .filter((value): value is number => value !== null)
        .sort((a, b) => a - b);
      return {
        day,
        decisions: decisions.length,
        p50Seconds: percentile(seconds, 0.5),
        p95Seconds: percentile(seconds, 0.95),
      };
    });
}

function sectionCount(report: EvidenceReport, section: EvidenceSection): string {
  switch (section) {
    case 'decisions':
      return `${report.decisions.length} decision(s)`;
    case 'receipts': {
      const verified = report.decisions.filter((decision) => decision.receipt.status === 'VERIFIED').length;
      return `${verified} of ${report.decisions.length} receipt(s) verified`;
    }
    case 'refusals':
      return `${report.refusals.length} refused vote(s)`;
    case 'unapproved-calls':
      return `${report.unapprovedCalls.length} unapproved call(s)`;
    case 'break-glass':
      return `${report.breakGlass.length} break-glass use(s)`;
    case 'classification':
      return `${report.decisions.filter((decision) => decision.severity !== null).length} classified decision(s)`;
    case 'archive-verification':
      return report.verification.holds ? 'archive holds' : 'ARCHIVE DOES NOT VERIFY';
    case 'charts':
      return `${dayFigures(report).length} day(s) charted`;
  }
}

export function reportTables(report: EvidenceReport): ReportTable[] {
  const days = dayFigures(report);
  const seconds = (value: number | null) => (value === null ? '' : value.toFixed(1));
  return [
    {
      id: 'controls',
      title: 'Controls and their evidence',
      columns: ['Framework', 'Control', 'Title', 'Evidence', 'In this period', 'Rationale'],
      rows: CONTROLS.map((control) => [
        control.framework,
        control.id,
        control.title,
        list(control.evidence.map((section) => SECTION_TITLES[section])),
        list(control.evidence.map((section) => sectionCount(report, section))),
        control.rationale,
      ]),
    },
    {
      id: 'decisions',
      title: SECTION_TITLES.decisions,
      columns: [
        'Request',
        'Decided at',
        'Decision',
        'Requester',
        'Action',
        'Resource',
        'Approvers',
        'Policies',
        'Receipt',
      ],
      rows: report.decisions.map((decision) => [
        decision.requestId,
        decision.decidedAt,
        decision.decision,
        text(decision.requester),
        text(decision.action),
        text(decision.resource),
        list(decision.approvers),
        list(decision.policyIds),
        decision.receipt.status,
      ]),
    },
    {
      id: 'receipts',
      title: SECTION_TITLES.receipts,
      note: 'Each receipt is fetched, compared with the SHA-256 the archive recorded, and verified (ES256, issuer, type, validity when issued, request and decision) against the receipt JWKS.',
      columns: ['Request', 'Receipt', 'Detail'],
      rows: report.decisions.map((decision) => [
        decision.requestId,
        decision.receipt.status,
        decision.receipt.detail,
      ]),
    },
    {
      id: 'refusals',
      title: SECTION_TITLES.refusals,
      note: 'Self-approval attempts (code REQUESTER) first.',
      columns: ['Request', 'Who', 'At', 'Code', 'Channel', 'Vote', 'Requester'],
      rows: report.refusals.map((row) => [
        text(row.request_id),
        text(row.actor),
        text(row.at),
        text(row.code),
        text(row.channel),
        text(row.vote),
        text(row.requester),
      ]),
    },
    {
      id: 'unapproved-calls',
      title: SECTION_TITLES['unapproved-calls'],
      columns: ['Call', 'Action', 'Principal', 'Resource', 'Called at', 'Review', 'Reviewer', 'Reviewed at'],
      rows: report.unapprovedCalls.map((row) => [
        text(row.event_id ?? row.request_id),
        text(row.action),
        text(row.principal_arn),
        text(row.resource_arn),
        text(row.called_at),
        text(row.review_outcome),
        text(row.reviewer),
        text(row.reviewed_at),
      ]),
    },
    {
      id: 'break-glass',
      title: SECTION_TITLES['break-glass'],
      columns: ['Request', 'Action', 'Resource', 'Requested by', 'At', 'Review', 'Reviewer', 'Reviewed at'],
      rows: report.breakGlass.map((row) => [
        text(row.request_id),
        text(row.action),
        text(row.resource),
        text(row.requested_by),
        text(row.decided_at),
        text(row.review_outcome),
        text(row.reviewer),
        text(row.reviewed_at),
      ]),
    },
    {
      id: 'classification',
      title: SECTION_TITLES.classification,
      note: 'The Macie classification each policy decision was made with (none: the resource was not classified).',
      columns: ['Request', 'Resource', 'Severity', 'Categories', 'Data types'],
      rows: report.decisions.map((decision) => [
        decision.requestId,
        text(decision.resource),
        decision.severity ?? 'none',
        list(decision.categories),
        list(decision.dataTypes),
      ]),
    },
    {
      id: 'archive-verification',
      title: SECTION_TITLES['archive-verification'],
      note: 'countersign audit verify over the digests written from the start of the period on (records are archived after they happen).',
      columns: ['Result', 'Detail'],
      rows: [
        [report.verification.holds ? 'HOLDS' : 'DOES NOT VERIFY', report.verification.summary],
        ...report.verification.problems.map((problem) => ['PROBLEM', problem]),
      ],
    },
    {
      id: 'charts',
      title: 'Decisions per day and time to decision',
      columns: ['Day', 'Decisions', 'p50 seconds', 'p95 seconds'],
      rows: days.map((figures) => [
        figures.day,
        String(figures.decisions),
        seconds(figures.p50Seconds),
        seconds(figures.p95Seconds),
      ]),
    },
    {
      id: 'queries',
      title: 'Queries run (reproduce with countersign audit query)',
      columns: ['Purpose', 'Execution id', 'Rows', 'Bytes scanned', 'SQL'],
      rows: report.queries.map((query) => [
        query.purpose,
        query.executionId,
        String(query.rows),
        String(query.bytesScanned),
        query.sql,
      ]),
    },
  ];
}

function periodLine(report: EvidenceReport): string {
  return `${report.period.from.toISOString()} to ${report.period.to.toISOString()} (end exclusive), generated ${report.generatedAt.toISOString()}`;
}

// ---- HTML ----

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1b1f24;max-width:80rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}pre{white-space:pre-wrap;font-size:.75rem;margin:0}
.note{color:#57606a;font-size:.85rem}.bad{color:#b42318;font-weight:600}.good{color:#1a7f37;font-weight:600}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#57606a}`;

const STATUS_CLASS: Record<string, string> = {
  VERIFIED: 'good',
  HOLDS: 'good',
  FAILED: 'bad',
  UNAVAILABLE: 'bad',
  'DOES NOT VERIFY': 'bad',
  PROBLEM: 'bad',
};

function htmlTable(table: ReportTable): string {
  const head = table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const cell = (value: string, column: string) => {
    if (column === 'SQL') return `<td><pre>${escapeHtml(value)}</pre></td>`;
    const status = STATUS_CLASS[value];
    return status === undefined
      ? `<td>${escapeHtml(value)}</td>`
      : `<td class="${status}">${escapeHtml(value)}</td>`;
  };
  const body =
    table.rows.length === 0
      ? `<tr><td colspan="${table.columns.length}">None in this period.</td></tr>`
      : table.rows
          .map((row) => `<tr>${row.map((value, index) => cell(value, table.columns[index]!)).join('')}</tr>`)
          .join('\n');
  return `<section id="${table.id}"><h2>${escapeHtml(table.title)}</h2>
${table.note === undefined ? '' : `<p class="note">${escapeHtml(table.note)}</p>`}
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></section>`;
}

const CHART = { width: 720, height: 220, left: 48, bottom: 40, top: 16 } as const;

/** A bar chart (one series) or grouped bars (two), SVG presentation attributes only (no style). */
export function barChartSvg(
  title: string,
  labels: readonly string[],
  series: readonly {
    readonly name: string;
    readonly color: string;
    readonly values: readonly (number | null)[];
  }[],
): string {
  const plotWidth = CHART.width - CHART.left - 8;
  const plotHeight = CHART.height - CHART.bottom - CHART.top;
  const max = Math.max(1, ...series.flatMap((one) => one.values.map((value) => value ?? 0)));
  const slot = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(2, (slot * 0.8) / series.length);
  const bars = series.flatMap((one, seriesIndex) =>
    one.values.map((value, index) => {
      const height = ((value ?? 0) / max) * plotHeight;
      const x = CHART.left + index * slot + slot * 0.1 + seriesIndex * barWidth;
      const y = CHART.top + plotHeight - height;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="${one.color}"><title>${escapeHtml(`${labels[index]}: ${one.name} ${value ?? 'none'}`)}</title></rect>`;
    }),
  );
  const every = Math.max(1, Math.ceil(labels.length / 12));
  const ticks = labels
    .map((label, index) =>
      index % every === 0
        ? `<text x="${(CHART.left + index * slot + slot / 2).toFixed(1)}" y="${CHART.height - CHART.bottom + 16}" font-size="10" text-anchor="middle" fill="#57606a">${escapeHtml(label.slice(5))}</text>`
        : '',
    )
    .join('');
  const legend = series
    .map(
      (one, index) =>
        `<rect x="${CHART.left + index * 120}" y="${CHART.height - 14}" width="10" height="10" fill="${one.color}"/><text x="${CHART.left + index * 120 + 14}" y="${CHART.height - 5}" font-size="11" fill="#1b1f24">${escapeHtml(one.name)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}"><title>${escapeHtml(title)}</title>
<line x1="${CHART.left}" y1="${CHART.top + plotHeight}" x2="${CHART.width - 8}" y2="${CHART.top + plotHeight}" stroke="#8c959f"/>
<text x="4" y="${CHART.top + 8}" font-size="10" fill="#57606a">${escapeHtml(String(Number(max.toFixed(1))))}</text>
<text x="4" y="${CHART.top + plotHeight}" font-size="10" fill="#57606a">0</text>
${bars.join('\n')}
${ticks}${legend}</svg>`;
}

function chartsHtml(report: EvidenceReport): string {
  const days = dayFigures(report);
  const labels = days.map((figures) => figures.day);
  return `<figure>${barChartSvg('Decisions per day', labels, [
    { name: 'decisions', color: '#0969da', values: days.map((figures) => figures.decisions) },
  ])}<figcaption>Decisions per UTC day</figcaption></figure>
<figure>${barChartSvg('Time to decision per day (seconds)', labels, [
    { name: 'p50 seconds', color: '#1a7f37', values: days.map((figures) => figures.p50Seconds) },
    { name: 'p95 seconds', color: '#bf8700', values: days.map((figures) => figures.p95Seconds) },
  ])}<figcaption>Seconds from request to decision, p50 and p95 per day</figcaption></figure>`;
}

export function renderHtml(report: EvidenceReport): string {
  const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');
  const tables = reportTables(report)
    .map((table) => (table.id === 'charts' ? `${htmlTable(table)}\n${chartsHtml(report)}` : htmlTable(table)))
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Countersign evidence report</title>
<style>${STYLE}</style></head>
<body>
<h1>Countersign evidence report</h1>
<p>${escapeHtml(periodLine(report))}</p>
<p class="${report.verification.holds ? 'good' : 'bad'}">Archive: ${escapeHtml(report.verification.summary)}</p>
${tables}
</body></html>
`;
}

// ---- Markdown ----

/** A table cell: Markdown and HTML that would render are escaped, and a cell is one line. */
export function escapeMarkdown(value: string): string {
  return value
    .replaceAll('\\', '\\\\')
    .replace(/[`*_[\]{}()#+!|<>~]/g, (character) => `\\${character}`)
    .replace(/\r?\n/g, ' ');
}

export function renderMarkdown(report: EvidenceReport): string {
  const sections = reportTables(report).map((table) => {
    const head = `| ${table.columns.map(escapeMarkdown).join(' | ')} |\n|${table.columns.map(() => ' --- |').join('')}`;
    const rows =
      table.rows.length === 0
        ? 'None in this period.'
        : `${head}\n${table.rows.map((row) => `| ${row.map(escapeMarkdown).join(' | ')} |`).join('\n')}`;
    return `## ${table.title}\n\n${table.note === undefined ? '' : `${escapeMarkdown(table.note)}\n\n`}${rows}\n`;
  });
  return `# Countersign evidence report\n\n${escapeMarkdown(periodLine(report))}\n\nArchive: ${escapeMarkdown(report.verification.summary)}\n\n${sections.join('\n')}`;
}

// ---- CSV ----

/** RFC 4180, and a cell a spreadsheet would run as a formula (= + - @ tab CR) starts with a quote. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV: every table's rows, each led by its section and the section's column names as pairs. */
export function renderCsv(report: EvidenceReport): string {
  const lines = [['section', 'row', 'column', 'value']];
  for (const table of reportTables(report)) {
    table.rows.forEach((row, index) => {
      row.forEach((value, column) => {
        lines.push([table.id, String(index + 1), table.columns[column]!, value]);
      });
    });
  }
  return `${lines.map((line) => line.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export function renderReport(report: EvidenceReport, format: ReportFormat): string {
  if (format === 'md') return renderMarkdown(report);
  if (format === 'csv') return renderCsv(report);
  return renderHtml(report);
}
