import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const DAY = 86_400;

/** The x domain (unix seconds) a chart shows: the period asked for when given, otherwise the
 * points' span padded on both sides. uPlot's own auto-range pads a single point by a fraction
 * of the timestamp itself (years), which put one day's point left of an axis from 2027 to
 * 2029; an explicit range keeps one point, a month and a year all in place. */
export function xDomain(x: number[], range?: [number, number]): [number, number] {
  if (range && range[1] > range[0]) return range;
  if (x.length === 0) {
    const now = Math.floor(Date.now() / 1000);
    return [now - DAY, now + DAY];
  }
  const min = Math.min(...x);
  const max = Math.max(...x);
  const pad = Math.max(DAY / 2, (max - min) * 0.04);
  return [min - pad, max + pad];
}

/** The y domain: from zero (money and tokens are never drawn floating) to a little above the top. */
export function yDomain(values: number[]): [number, number] {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  return [0, max > 0 ? max * 1.1 : 1];
}

/** A time series drawn by uPlot (canvas, ~50 kB): usage per day, earnings, revenue by month.
 * `range` is the period shown (unix seconds), e.g. the dates the page asked the server for. */
export function TimeChart({ x, series, label, height = 220, range }: {
  x: number[]; // unix seconds
  series: { name: string; values: number[] }[];
  label: string;
  height?: number;
  range?: [number, number];
}) {
  const host = useRef<HTMLDivElement>(null);
  const [lo, hi] = xDomain(x, range);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const colors = ["#97534C", "#D4938B", "#6E4A8E"];
    const few = x.length <= 62;
    const plot = new uPlot(
      {
        width: el.clientWidth || 320,
        height,
        legend: { show: series.length > 1 },
        scales: {
          x: { time: true, range: () => [lo, hi] },
          y: { range: () => yDomain(series.flatMap((s) => s.values)) },
        },
        axes: [{ stroke: "#4A2E2A", grid: { stroke: "rgba(74,46,42,0.08)" } }, { stroke: "#4A2E2A", grid: { stroke: "rgba(74,46,42,0.08)" }, size: 60 }],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.name,
            stroke: colors[i % colors.length],
            width: 2,
            fill: i === 0 ? "rgba(212,147,139,0.18)" : undefined,
            points: { show: few, size: 7 },
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    // Where the first and last points landed, in CSS pixels of the plotting area: a browser
    // test reads these to check that every point is drawn inside the axis.
    const place = () => {
      if (x.length === 0) return;
      el.dataset.plotWidth = String(Math.round(plot.bbox.width / devicePixelRatio));
      el.dataset.firstPoint = String(Math.round(plot.valToPos(x[0]!, "x")));
      el.dataset.lastPoint = String(Math.round(plot.valToPos(x[x.length - 1]!, "x")));
    };
    place();
    const resize = new ResizeObserver(() => {
      plot.setSize({ width: el.clientWidth, height });
      place();
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, height, lo, hi]);
  return (
    <div
      ref={host}
      className="chart"
      role="img"
      aria-label={label}
      data-testid="time-chart"
      data-x-min={lo}
      data-x-max={hi}
      data-points={x.length}
    />
  );
}
