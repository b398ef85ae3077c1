/**
 * A uPlot time chart that follows its container's width. The chart is a picture; `label` says
 * in words what it shows (for screen readers), and each page shows the numbers in a table too.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface PlotSeries {
  readonly label: string;
  /** one value per x, null where the series has none */
  readonly values: readonly (number | null)[];
}

export interface PlotProps {
  readonly label: string;
  /** epoch seconds, ascending */
  readonly x: readonly number[];
  readonly series: readonly PlotSeries[];
  readonly format: (v: number) => string;
  readonly bars?: boolean;
  readonly height?: number;
}

/** Colours with at least 3:1 contrast against white, told apart by the legend's labels too. */
const COLOURS = ['#1f5fbf', '#b35900', '#2e7d32', '#8e24aa', '#c62828', '#00838f'];

export function Plot({ label, x, series, format, bars = false, height = 220 }: PlotProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || x.length === 0) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length]!,
          width: 2,
          spanGaps: true,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
          ...(bars
            ? { fill: `${COLOURS[i % COLOURS.length]!}99`, paths: uPlot.paths.bars!({ size: [0.6, 48] }), points: { show: false } }
            : { points: { show: x.length < 60, size: 5 } }),
        })),
      ],
      axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map(format), size: 80 }],
      scales: {
        x: { time: true, ...(bars ? { range: padBars } : {}) },
        y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] },
      },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const chart = new uPlot(opts, [x.slice(), ...series.map((s) => s.values.slice())] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series, format, bars, height]);
  if (x.length === 0) return <p class="muted">No data to plot yet.</p>;
  return <div class="plot" ref={box} role="img" aria-label={label} />;
}

/** Bars are centred on their x: half a step of room at each end, so the first and last are whole. */
function padBars(_u: uPlot, min: number, max: number): [number, number] {
  const pad = max > min ? (max - min) / 20 : 3600;
  return [min - pad, max + pad];
}

/** Aligns several (time, value) lists on one x axis for uPlot. */
export function alignSeries(lists: ReadonlyMap<string, readonly (readonly [number, number])[]>): { x: number[]; series: PlotSeries[] } {
  const xs = [...new Set([...lists.values()].flatMap((l) => l.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const series = [...lists].map(([label, points]) => {
    const values: (number | null)[] = xs.map(() => null);
    for (const [t, v] of points) values[index.get(t)!] = v;
    return { label, values };
  });
  return { x: xs, series };
}
