// The Intermittent Failures View: top bugs by failure count for a date
// range and tree, failures over time per bug, and one bug's failures.
// URL: /intermittent-failures?startday=&endday=&tree=  and
//      /intermittent-failures/bugdetails?bug=&startday=&endday=&tree=
import { useMemo } from 'react';
import { getFailureCount, getFailures, getFailuresByBug, type FailureRange } from '../api/client';
import type { BugCount } from '../api/types';
import { RepoMenu, TopBar } from '../app/TopBar';
import { bugUrl, useRepositories } from '../lib/refdata';
import { navigate, onLinkClick } from '../lib/router';
import { isoDay } from '../lib/time';
import { useAsync } from '../lib/useAsync';
import { logViewerUrl } from '../logviewer/links';
import { dayRange, LineChart, PALETTE, type Series } from './Chart';

/** Bugs drawn on the overview chart. */
const CHART_BUGS = 5;
const TABLE_BUGS = 100;

export function defaultRange(now = new Date()): { startday: string; endday: string } {
  const end = isoDay(now);
  const start = isoDay(new Date(now.getTime() - 7 * 86_400_000));
  return { startday: start, endday: end };
}

function useRange(search: string): FailureRange & { bug?: number } {
  return useMemo(() => {
    const q = new URLSearchParams(search);
    const d = defaultRange();
    const bug = Number(q.get('bug'));
    return {
      startday: q.get('startday') || d.startday,
      endday: q.get('endday') || d.endday,
      tree: q.get('tree') || 'trunk',
      bug: bug > 0 ? bug : undefined,
    };
  }, [search]);
}

function href(path: string, r: FailureRange & { bug?: number }): string {
  const q = new URLSearchParams({ startday: r.startday, endday: r.endday, tree: r.tree });
  if (r.bug) q.set('bug', String(r.bug));
  return `${path}?${q}`;
}

interface BugInfo {
  id: number;
  summary: string;
  product?: string;
  component?: string;
  whiteboard?: string;
  status?: string;
}

/** Bug summaries from Bugzilla's REST API, as Treeherder's view; best effort (absent offline). */
async function bugInfo(ids: number[], signal: AbortSignal): Promise<Map<number, BugInfo>> {
  const m = new Map<number, BugInfo>();
  if (!ids.length) return m;
  try {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 5000);
    signal.addEventListener('abort', () => ctl.abort(), { once: true });
    const res = await fetch(`https://bugzilla.mozilla.org/rest/bug?include_fields=id,summary,product,component,whiteboard,status&id=${ids.join(',')}`, {
      signal: ctl.signal,
    });
    clearTimeout(t);
    if (!res.ok) return m;
    const body = (await res.json()) as { bugs?: BugInfo[] };
    for (const b of body.bugs ?? []) m.set(b.id, b);
  } catch {
    // offline or blocked: the table shows ids only
  }
  return m;
}

function Controls({ r, path }: { r: FailureRange & { bug?: number }; path: string }) {
  const [repos] = useRepositories();
  const set = (patch: Partial<FailureRange>) => navigate(href(path, { ...r, ...patch }), { replace: true });
  const preset = (days: number) => {
    const now = new Date();
    set({ startday: isoDay(new Date(now.getTime() - days * 86_400_000)), endday: isoDay(now) });
  };
  const trees = ['trunk', 'all', 'firefox-releases', 'comm-releases'];
  return (
    <div className="filter-bar ifv-controls">
      <label>
        tree{' '}
        <select value={r.tree} onChange={(e) => set({ tree: e.target.value })} aria-label="Tree">
          {[...trees, ...repos.map((x) => x.name).filter((n) => !trees.includes(n))].map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        from <input type="date" value={r.startday} onChange={(e) => e.target.value && set({ startday: e.target.value })} aria-label="Start day" />
      </label>
      <label>
        to <input type="date" value={r.endday} onChange={(e) => e.target.value && set({ endday: e.target.value })} aria-label="End day" />
      </label>
      <button type="button" className="btn-small" onClick={() => preset(7)}>
        last 7 days
      </button>
      <button type="button" className="btn-small" onClick={() => preset(30)}>
        last 30 days
      </button>
    </div>
  );
}

function Overview({ r }: { r: FailureRange }) {
  const days = useMemo(() => dayRange(r.startday, r.endday), [r.startday, r.endday]);
  const data = useAsync(
    async (signal) => {
      const [bugs, totals] = await Promise.all([getFailures(r, { signal }), getFailureCount(r, { signal })]);
      const top = bugs.filter((b): b is BugCount & { bug_id: number } => b.bug_id != null).slice(0, TABLE_BUGS);
      const chartBugs = top.slice(0, CHART_BUGS);
      const [perBug, info] = await Promise.all([
        Promise.all(chartBugs.map((b) => getFailureCount({ ...r, bug: b.bug_id }, { signal }))),
        bugInfo(
          top.slice(0, 50).map((b) => b.bug_id),
          signal,
        ),
      ]);
      return { top, totals, chartBugs, perBug, info };
    },
    [r.startday, r.endday, r.tree],
  );
  if (data.error) return <div className="notice error">Could not load failures: {data.error.message}</div>;
  if (!data.data) return <div className="loading">Loading failures…</div>;
  const { top, totals, chartBugs, perBug, info } = data.data;
  const series: Series[] = [
    { name: 'all intermittent failures', colour: '#555', dashed: true, points: totals.map((t) => ({ date: t.date, value: t.failure_count })) },
    ...chartBugs.map((b, i) => ({
      name: `bug ${b.bug_id}`,
      colour: PALETTE[i % PALETTE.length],
      points: perBug[i].map((p) => ({ date: p.date, value: p.failure_count })),
    })),
  ];
  const runs = totals.reduce((a, t) => a + t.test_runs, 0);
  const failures = totals.reduce((a, t) => a + t.failure_count, 0);
  return (
    <>
      <p className="small">
        {failures} failure{failures === 1 ? '' : 's'} classified intermittent in {runs} push{runs === 1 ? '' : 'es'}
        {runs ? ` (${(failures / runs).toFixed(2)} per push)` : ''}.
      </p>
      <LineChart series={series} days={days} label="Failures per day for the top bugs" />
      <table className="plain ifv-table" data-testid="ifv-table">
        <thead>
          <tr>
            <th>count</th>
            <th>bug</th>
            <th>product :: component</th>
            <th>whiteboard</th>
            <th>summary</th>
          </tr>
        </thead>
        <tbody>
          {top.map((b) => {
            const i = info.get(b.bug_id);
            return (
              <tr key={b.bug_id}>
                <td className="num">{b.bug_count}</td>
                <td>
                  <a href={href('/intermittent-failures/bugdetails', { ...r, bug: b.bug_id })} onClick={onLinkClick}>
                    {b.bug_id}
                  </a>
                </td>
                <td>{i?.product ? `${i.product} :: ${i.component}` : ''}</td>
                <td>{i?.whiteboard ?? ''}</td>
                <td>
                  {i?.summary ?? (
                    <a href={bugUrl(b.bug_id)} target="_blank" rel="noreferrer">
                      bug {b.bug_id}
                    </a>
                  )}
                </td>
              </tr>
            );
          })}
          {top.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No failures linked to bugs in this range.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}

function BugDetails({ r, bug }: { r: FailureRange; bug: number }) {
  const days = useMemo(() => dayRange(r.startday, r.endday), [r.startday, r.endday]);
  const data = useAsync(
    (signal) =>
      Promise.all([getFailureCount({ ...r, bug }, { signal }), getFailuresByBug({ ...r, bug }, { signal }), bugInfo([bug], signal)]),
    [r.startday, r.endday, r.tree, bug],
  );
  if (data.error) return <div className="notice error">Could not load bug {bug}: {data.error.message}</div>;
  if (!data.data) return <div className="loading">Loading bug {bug}…</div>;
  const [counts, failures, info] = data.data;
  return (
    <>
      <h2>
        <a href={bugUrl(bug)} target="_blank" rel="noreferrer">
          Bug {bug}
        </a>{' '}
        {info.get(bug)?.summary}
      </h2>
      <p>
        <a href={href('/intermittent-failures', { ...r })} onClick={onLinkClick}>
          ← all bugs
        </a>
      </p>
      <LineChart
        series={[
          { name: 'failures', colour: PALETTE[0], points: counts.map((c) => ({ date: c.date, value: c.failure_count })) },
          { name: 'pushes', colour: '#999', dashed: true, points: counts.map((c) => ({ date: c.date, value: c.test_runs })) },
        ]}
        days={days}
        label={`Failures per day for bug ${bug}`}
      />
      <table className="plain ifv-table">
        <thead>
          <tr>
            <th>push time</th>
            <th>tree</th>
            <th>revision</th>
            <th>platform</th>
            <th>build type</th>
            <th>test suite</th>
            <th>machine</th>
            <th>log</th>
          </tr>
        </thead>
        <tbody>
          {failures.map((f) => (
            <tr key={f.job_id}>
              <td>{f.push_time}</td>
              <td>{f.tree}</td>
              <td>
                <a href={`/jobs?repo=${encodeURIComponent(f.tree)}&revision=${f.revision}&selectedTaskRun=${f.task_id}.0`} onClick={onLinkClick}>
                  {f.revision.slice(0, 12)}
                </a>
              </td>
              <td>{f.platform}</td>
              <td>{f.build_type}</td>
              <td>{f.test_suite}</td>
              <td>{f.machine_name}</td>
              <td>
                <a href={logViewerUrl(f.tree, f.job_id)} target="_blank" rel="noreferrer">
                  log
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export default function IntermittentsView({ pathname, search }: { pathname: string; search: string }) {
  const r = useRange(search);
  const details = pathname.endsWith('/bugdetails') && r.bug;
  const [repos] = useRepositories();
  return (
    <div className="app ifv">
      <TopBar>
        <span className="page-title">Intermittent failures</span>
        <RepoMenu repos={repos} current={r.tree} hrefFor={(name) => href(pathname, { ...r, tree: name })} />
        <a className="topbar-link" href={`/jobs?repo=${encodeURIComponent(['trunk', 'all'].includes(r.tree) ? 'autoland' : r.tree)}`} onClick={onLinkClick}>
          jobs view
        </a>
      </TopBar>
      <Controls r={r} path={pathname} />
      <main className="ifv-main">{details ? <BugDetails r={r} bug={r.bug!} /> : <Overview r={r} />}</main>
    </div>
  );
}
