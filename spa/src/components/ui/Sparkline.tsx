/** A tiny SVG line of recent values (no chart library needed for a sparkline). */
export function Sparkline({ values, label, width = 160, height = 36 }: { values: number[]; label: string; width?: number; height?: number }) {
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(" ");
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <defs>
        <linearGradient id="spark-rose" x1="0" x2="1">
          <stop offset="0" stopColor="#D4938B" />
          <stop offset="0.5" stopColor="#F6DCD4" />
          <stop offset="1" stopColor="#97534C" />
        </linearGradient>
      </defs>
      {values.length > 0 ? <polyline points={points} fill="none" stroke="url(#spark-rose)" strokeWidth="2.5" strokeLinejoin="round" /> : null}
    </svg>
  );
}
