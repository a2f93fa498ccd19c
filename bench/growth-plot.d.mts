// Types of bench/growth-plot.mjs, for test/growth-plot.test.ts.
/** `lo`, `hi`: the spread over the rounds, drawn as a whisker. */
export interface PlotPoint { x: number; y: number; lo?: number; hi?: number; label?: string }
export interface PlotSeries { name: string; points: PlotPoint[]; color?: string; hollow?: boolean }
export interface PlotPanel {
  title: string;
  xLabel?: string;
  yLabel?: string;
  xScale?: 'log' | 'linear';
  /** Where x = 0 is drawn on a log scale (a pseudo value left of the smallest positive x). */
  xZero?: number;
  xTicks?: { value: number; label?: string }[];
  series?: PlotSeries[];
  curve?: { f: (x: number) => number };
  note?: string;
}
export interface LegendItem { name: string; color?: string; hollow?: boolean; line?: boolean }
export const COLORS: { blue: string; orange: string; vermillion: string; grey: string };
export function escapeXml(text: unknown): string;
export function formatTick(v: number): string;
export function niceTicks(max: number): number[];
export function renderGrowthSvg(figure: { title: string; subtitle?: string; desc?: string; legend?: LegendItem[]; panels: PlotPanel[]; columns?: number; width?: number; panelHeight?: number }): string;
