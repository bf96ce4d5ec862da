import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** A time series drawn by uPlot (canvas, ~50 kB): usage per day, earnings over time. */
export function TimeChart({ x, series, label, height = 220 }: {
  x: number[]; // unix seconds
  series: { name: string; values: number[] }[];
  label: string;
  height?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const colors = ["#97534C", "#D4938B", "#6E4A8E"];
    const plot = new uPlot(
      {
        width: el.clientWidth || 320,
        height,
        legend: { show: series.length > 1 },
        axes: [{ stroke: "#4A2E2A", grid: { stroke: "rgba(74,46,42,0.08)" } }, { stroke: "#4A2E2A", grid: { stroke: "rgba(74,46,42,0.08)" }, size: 60 }],
        series: [{}, ...series.map((s, i) => ({ label: s.name, stroke: colors[i % colors.length], width: 2, fill: i === 0 ? "rgba(212,147,139,0.18)" : undefined }))],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, height]);
  return <div ref={host} className="chart" role="img" aria-label={label} />;
}
