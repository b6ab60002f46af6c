// Small inline-SVG charts: no chart library, a few hundred bytes each.
import { clock, duration } from "./format";

const W = 480;
const H = 120;
const PAD = { left: 34, right: 6, top: 8, bottom: 18 };

export type Line = { label: string; className: string; values: number[] };

/** Lines over time buckets (oldest first), one per series, with the y-axis maximum. */
export function LineChart(props: { lines: Line[]; start: number; bucketMs: number; unit: string }) {
  const n = Math.max(1, ...props.lines.map((l) => l.values.length));
  const max = Math.max(1, ...props.lines.flatMap((l) => l.values));
  const x = (i: number) => PAD.left + (i / Math.max(1, n - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const end = props.start + n * props.bucketMs;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="throughput over time">
        <line class="axis" x1={PAD.left} y1={y(0)} x2={W - PAD.right} y2={y(0)} />
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={y(0)} />
        <text x={PAD.left - 4} y={PAD.top + 8} text-anchor="end">
          {Number(max.toFixed(1))}
        </text>
        <text x={PAD.left - 4} y={y(0)} text-anchor="end">
          0
        </text>
        <text x={PAD.left} y={H - 4}>
          {clock(props.start)}
        </text>
        <text x={W - PAD.right} y={H - 4} text-anchor="end">
          {clock(end)}
        </text>
        {props.lines.map((l) => (
          <polyline
            key={l.label}
            class={`series ${l.className}`}
            points={l.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
          />
        ))}
      </svg>
      <figcaption>
        {props.lines.map((l) => (
          <span key={l.label} class={`key ${l.className}`}>
            {l.label}
          </span>
        ))}{" "}
        <span class="muted">({props.unit})</span>
      </figcaption>
    </figure>
  );
}

export type BarGroup = {
  label: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
};

/** p50/p95/p99 of each latency as three bars on one shared scale. */
export function PercentileBars(props: { groups: BarGroup[] }) {
  const keys = ["p50", "p95", "p99"] as const;
  const max = Math.max(1, ...props.groups.flatMap((g) => keys.map((k) => g[k] ?? 0)));
  const row = 14;
  const labelW = 150;
  const height = props.groups.length * (row * 3 + 10);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label="latency percentiles">
        {props.groups.map((g, gi) => {
          const top = gi * (row * 3 + 10);
          return (
            <g key={g.label}>
              <text x={0} y={top + row + 4}>
                {g.label}
              </text>
              {keys.map((k, ki) => {
                const v = g[k];
                const w = v === null ? 0 : (v / max) * (W - labelW - 70);
                const yy = top + ki * row;
                return (
                  <g key={k}>
                    <rect class={`bar-${k}`} x={labelW} y={yy + 2} width={w} height={row - 4} />
                    <text x={labelW + w + 4} y={yy + row - 3}>
                      {k} {duration(v)}
                    </text>
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
