/**
 * The bench's one table (every figure beside its same-run baseline, the ratio, the goal and whether
 * it is met) and bench-results.json's flat object of numbers.
 */
import type { Figure, Goal } from './figures.ts';

export interface MeasuredFigure extends Figure {
  /** The bench module that measured it (`policy`, `twin`). */
  readonly bench: string;
}

const HEADER = ['BENCH', 'FIGURE', 'VALUE', 'BASELINE', 'VALUE', 'RATIO', 'GOAL', '', ''] as const;
/** Numeric columns are right-aligned. */
const RIGHT_ALIGNED = new Set([2, 4, 5]);

function ratioOf(figure: Figure): number | undefined {
  return figure.baseline === undefined || figure.baseline.value === 0
    ? undefined
    : figure.value / figure.baseline.value;
}

function formatNumber(value: number): string {
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 1 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function formatRatio(ratio: number): string {
  return `${Number(ratio.toFixed(ratio >= 10 ? 0 : 2))}×`;
}

function withUnit(value: number, unit: string): string {
  return unit === '' ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
}

function describeGoal(goal: Goal, unit: string): string {
  return [
    goal.atMost === undefined ? [] : [`≤ ${withUnit(goal.atMost, unit)}`],
    goal.atLeast === undefined ? [] : [`≥ ${withUnit(goal.atLeast, unit)}`],
    goal.ratioAtMost === undefined ? [] : [`≤ ${formatRatio(goal.ratioAtMost)}`],
    goal.ratioAtLeast === undefined ? [] : [`≥ ${formatRatio(goal.ratioAtLeast)}`],
  ]
    .flat()
    .join(', ');
}

/** Whether every bound of the goal holds; a ratio bound without a baseline does not. */
export function meetsGoal(figure: Figure): boolean | undefined {
  const { goal, value } = figure;
  if (goal === undefined) return undefined;
  const ratio = ratioOf(figure);
  const ratioHolds = (bound: number | undefined, holds: (ratio: number) => boolean) =>
    bound === undefined || (ratio !== undefined && holds(ratio));
  return (
    (goal.atMost === undefined || value <= goal.atMost) &&
    (goal.atLeast === undefined || value >= goal.atLeast) &&
    ratioHolds(goal.ratioAtMost, (ratio) => ratio <= goal.ratioAtMost!) &&
    ratioHolds(goal.ratioAtLeast, (ratio) => ratio >= goal.ratioAtLeast!)
  );
}

function row(figure: MeasuredFigure): string[] {
  const ratio = ratioOf(figure);
  const met = meetsGoal(figure);
  return [
    figure.bench,
    figure.name,
    withUnit(figure.value, figure.unit),
    figure.baseline?.name ?? '',
    figure.baseline === undefined ? '' : withUnit(figure.baseline.value, figure.unit),
    ratio === undefined ? '' : formatRatio(ratio),
    figure.goal === undefined ? '' : describeGoal(figure.goal, figure.unit),
    met === undefined ? '' : met ? '✓' : '✗',
    figure.note ?? '',
  ];
}

export function formatTable(figures: readonly MeasuredFigure[]): string {
  const rows = [[...HEADER], ...figures.map(row)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  return rows
    .map((cells) =>
      cells
        .map((cell, column) =>
          RIGHT_ALIGNED.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** bench-results.json: every figure and every baseline by its own name. */
export function resultsObject(figures: readonly Figure[]): Record<string, number> {
  const results: Record<string, number> = {};
  for (const { name, value, baseline } of figures) {
    results[name] = value;
    if (baseline !== undefined) results[baseline.name] = baseline.value;
  }
  return results;
}
