// Time formatting: Treeherder's API speaks unix seconds and naive-UTC ISO.

export function fromUnix(secs: number | null | undefined): Date | null {
  return secs ? new Date(secs * 1000) : null;
}

/** A naive-UTC ISO string (no zone, as last_modified and note.created) as a Date. */
export function fromNaiveIso(s: string | null | undefined): Date | null {
  if (!s) return null;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + 'Z');
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function formatTime(d: Date | null): string {
  return d ? dateTime.format(d) : '—';
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '—';
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = Math.floor(secs % 60);
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}

/** "YYYY-MM-DD" in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
