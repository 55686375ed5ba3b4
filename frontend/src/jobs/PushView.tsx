import { memo, useMemo } from 'react';
import type { Job, Push, Repository } from '../api/types';
import { onLinkClick } from '../lib/router';
import { bugUrl, pushlogUrl, revisionUrl, splitBugRefs } from '../lib/refdata';
import { formatTime } from '../lib/time';
import { groupJobs } from './grouping';
import { PushJobs } from './PushJobs';
import { isFailure, isUnclassifiedFailure } from './status';

export interface PushCounts {
  total: number;
  completed: number;
  inProgress: number;
  unclassifiedFailures: number;
  fixedByCommit: number;
}

/** Progress counts over tier 1 and 2 jobs, as Treeherder's push status. */
export function pushCounts(jobs: Job[]): PushCounts {
  const c: PushCounts = { total: 0, completed: 0, inProgress: 0, unclassifiedFailures: 0, fixedByCommit: 0 };
  for (const j of jobs) {
    if (j.tier === 3 || j.state === 'unscheduled' || (j.state === 'completed' && j.result === 'superseded')) continue;
    c.total++;
    if (j.state === 'completed') c.completed++;
    else if (j.state === 'pending' || j.state === 'running') c.inProgress++;
    if (isUnclassifiedFailure(j)) c.unclassifiedFailures++;
    if (isFailure(j) && j.failure_classification_id === 2) c.fixedByCommit++;
  }
  return c;
}

function CommitMessage({ text }: { text: string }) {
  const first = text.split('\n')[0];
  return (
    <>
      {splitBugRefs(first).map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <a key={i} href={bugUrl(p.bug)} target="_blank" rel="noreferrer">
            {p.text}
          </a>
        ),
      )}
    </>
  );
}

interface Props {
  push: Push;
  repo: Repository | undefined;
  repoName: string;
  jobs: Job[] | undefined;
  filter: (j: Job) => boolean;
  selectedId: number;
  pinned: ReadonlySet<number>;
  expanded: boolean;
  expandedGroups: ReadonlySet<string>;
  collapsed: boolean;
  /** Search string for the push's own link (the view's filters, minus the range). */
  linkQuery: string;
}

export const PushView = memo(function PushView(p: Props) {
  const { push, jobs, filter } = p;
  const rows = useMemo(() => (jobs ? groupJobs(jobs.filter(filter)) : []), [jobs, filter]);
  const counts = useMemo(() => pushCounts(jobs ?? []), [jobs]);
  const pct = counts.total ? Math.floor((counts.completed / counts.total) * 100) : 0;
  const shown = push.revisions.slice(0, 20);
  const more = Math.max(0, push.revision_count - shown.length);
  const done = jobs && counts.inProgress === 0 && counts.total > 0;
  return (
    <section className="push" data-push-id={push.id} aria-label={`push ${push.revision.slice(0, 12)} by ${push.author}`}>
      <header className="push-header">
        <button type="button" className="push-collapse" data-push-toggle={push.id} aria-expanded={!p.collapsed} title={p.collapsed ? 'Show jobs' : 'Hide jobs'}>
          {p.collapsed ? '▸' : '▾'}
        </button>
        <a className="push-time" href={`/jobs?repo=${encodeURIComponent(p.repoName)}&revision=${push.revision}${p.linkQuery}`} onClick={onLinkClick} title="View only this push">
          {formatTime(new Date(push.push_timestamp * 1000))}
        </a>
        <span className="push-author" title="author">
          <a href={`/jobs?repo=${encodeURIComponent(p.repoName)}&author=${encodeURIComponent(push.author)}`} onClick={onLinkClick}>
            {push.author}
          </a>
        </span>
        <span className="push-progress" data-testid="push-progress">
          {!jobs ? (
            <span className="muted">loading jobs…</span>
          ) : (
            <>
              <span className="pct" title={`${counts.completed} of ${counts.total} tier 1-2 jobs complete`}>
                {pct}%{counts.inProgress ? ` – ${counts.inProgress} in progress` : ''}
              </span>
              {counts.unclassifiedFailures > 0 && (
                <span className="failed-count" title="unclassified failures">
                  ✗ {counts.unclassifiedFailures} failed
                </span>
              )}
              {counts.fixedByCommit > 0 && <span className="fbc-count" title="fixed by commit">{counts.fixedByCommit} fixed by commit</span>}
              {done && counts.unclassifiedFailures === 0 && <span className="push-done" title="complete, no unclassified failures">✓</span>}
            </>
          )}
        </span>
        <span className="push-actions">
          <button type="button" className="btn-small" data-push-pin={push.id} title="Pin this push's visible unclassified failures">
            pin failures
          </button>
        </span>
      </header>
      <ul className="revisions">
        {shown.map((r) => (
          <li key={r.revision}>
            <a className="rev" href={revisionUrl(p.repo, r.revision)} target="_blank" rel="noreferrer">
              {r.revision.slice(0, 12)}
            </a>{' '}
            <span className="rev-author">{r.author.replace(/\s*<.*>\s*$/, '')}</span> – <CommitMessage text={r.comments} />
          </li>
        ))}
        {more > 0 && (
          <li>
            <a href={pushlogUrl(p.repo, push.revision)} target="_blank" rel="noreferrer">
              …and {more} more
            </a>
          </li>
        )}
      </ul>
      {!p.collapsed && jobs && (
        rows.length ? (
          <PushJobs rows={rows} selectedId={p.selectedId} pinned={p.pinned} expanded={p.expanded} expandedGroups={p.expandedGroups} />
        ) : (
          <div className="push-empty muted">{jobs.length ? 'No jobs match the filters.' : 'No jobs yet.'}</div>
        )
      )}
    </section>
  );
});
