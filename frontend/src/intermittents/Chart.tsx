// A small SVG line chart (days on x, counts on y): enough for failures over
// time without a charting library in the bundle.

export interface Series {
  name: string;
  colour: string;
  points: { date: string; value: number }[];
  dashed?: boolean;
}

const W = 900;
const H = 240;
const PAD = { l: 40, r: 12, t: 12, b: 28 };

export const PALETTE = ['#dd6602', '#283aa2', '#028233', '#9a7da6', '#b74c4c', '#3f77c6', '#8a6d3b', '#cf2b9f'];

export function LineChart({ series, days, label }: { series: Series[]; days: string[]; label: string }) {
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.value)));
  const x = (i: number) => PAD.l + (days.length <= 1 ? 0 : (i / (days.length - 1)) * (W - PAD.l - PAD.r));
  const y = (v: number) => PAD.t + (1 - v / max) * (H - PAD.t - PAD.b);
  const idx = new Map(days.map((d, i) => [d, i]));
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const step = Math.max(1, Math.ceil(days.length / 8));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} preserveAspectRatio="none">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.l - 6} y={y(t) + 4} textAnchor="end" className="tick">
              {t}
            </text>
          </g>
        ))}
        {days.map((d, i) =>
          i % step === 0 ? (
            <text key={d} x={x(i)} y={H - 8} textAnchor="middle" className="tick">
              {d.slice(5)}
            </text>
          ) : null,
        )}
        {series.map((s) => {
          // Days without a point count as zero.
          const values = new Map(s.points.map((p) => [p.date, p.value]));
          const pts = days.map((d, i) => `${x(i).toFixed(1)},${y(values.get(d) ?? 0).toFixed(1)}`).join(' ');
          return (
            <g key={s.name}>
              <polyline points={pts} fill="none" stroke={s.colour} strokeWidth={2} strokeDasharray={s.dashed ? '5 4' : undefined} />
              {s.points.map((p) =>
                idx.has(p.date) ? (
                  <circle key={p.date} cx={x(idx.get(p.date)!)} cy={y(p.value)} r={2.5} fill={s.colour}>
                    <title>{`${s.name}: ${p.value} on ${p.date}`}</title>
                  </circle>
                ) : null,
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name} className="legend-item">
            <span className="swatch" style={{ background: s.colour }} /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Every day from start to end inclusive, as YYYY-MM-DD. */
export function dayRange(start: string, end: string): string[] {
  const out: string[] = [];
  const s = Date.parse(start + 'T00:00:00Z');
  const e = Date.parse(end + 'T00:00:00Z');
  if (Number.isNaN(s) || Number.isNaN(e)) return out;
  for (let t = s; t <= e && out.length < 400; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
