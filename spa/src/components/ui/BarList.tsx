/** Horizontal bars for categorical totals (usage by agent or model): readable at 375 px. */
export function BarList({ items, format }: { items: { label: string; value: number }[]; format: (v: number) => string }) {
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  if (items.length === 0) return <p className="empty">No usage in this period.</p>;
  return (
    <ul className="barlist">
      {items.map((i) => (
        <li key={i.label}>
          <span className="barlist-label">{i.label}</span>
          <span className="barlist-track" aria-hidden="true">
            <span className="barlist-bar" style={{ width: `${Math.max(2, (i.value / max) * 100)}%` }} />
          </span>
          <span className="barlist-value">{format(i.value)}</span>
        </li>
      ))}
    </ul>
  );
}
