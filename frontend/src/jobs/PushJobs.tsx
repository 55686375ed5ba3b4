// A push's job rows. Buttons carry data attributes and no handlers: the
// push list handles clicks by delegation, so 3,000 buttons cost 3,000
// elements and nothing more.
import { memo, useMemo } from 'react';
import type { Job } from '../api/types';
import { collapseGroup, type PlatformRow } from './grouping';
import { classificationMark, displayStatus, jobClassName, jobTitle, STATUS_LABEL } from './status';

interface ButtonProps {
  job: Job;
  selected: boolean;
  pinned: boolean;
}

function JobButton({ job, selected, pinned }: ButtonProps) {
  const mark = classificationMark(job);
  return (
    <button
      type="button"
      className={jobClassName(job, selected, pinned)}
      data-job-id={job.id}
      title={jobTitle(job)}
      aria-label={`${job.job_type_symbol} ${STATUS_LABEL[displayStatus(job)]}${mark ? ' classified' : ''}`}
      aria-pressed={selected}
      tabIndex={-1}
    >
      {job.job_type_symbol}
      {mark && <span className="star" aria-hidden="true">{mark}</span>}
    </button>
  );
}

interface RowProps {
  row: PlatformRow;
  /** The selected job's id when it is in this row, else 0. */
  selectedId: number;
  pinned: ReadonlySet<number>;
  expanded: boolean;
  expandedGroups: ReadonlySet<string>;
}

export const PlatformRowView = memo(function PlatformRowView({ row, selectedId, pinned, expanded, expandedGroups }: RowProps) {
  return (
    <div className="platform-row" data-platform={row.key}>
      <div className="platform-name" title={`${row.platform} ${row.option}`}>
        {row.label} <span className="option">{row.option}</span>
      </div>
      <div className="platform-jobs">
        {row.ungrouped.map((j) => (
          <JobButton key={j.id} job={j} selected={j.id === selectedId} pinned={pinned.has(j.id)} />
        ))}
        {row.groups.map((g) => {
          const gkey = `${row.key}|${g.key}`;
          const open = expanded || expandedGroups.has(gkey);
          const view = open ? { shown: g.jobs, counts: [] } : collapseGroup(g.jobs, (j) => j.id === selectedId || pinned.has(j.id));
          return (
            <span className="job-group" key={g.key} data-group={gkey}>
              <button type="button" className="group-symbol" data-group-toggle={gkey} title={`${g.name}${g.tier !== 1 ? ` [tier ${g.tier}]` : ''} — click to ${open ? 'collapse' : 'expand'}`} tabIndex={-1}>
                {g.symbol}
                {g.tier !== 1 && <span className="tier">[tier {g.tier}]</span>}
              </button>
              <span className="paren">(</span>
              {view.shown.map((j) => (
                <JobButton key={j.id} job={j} selected={j.id === selectedId} pinned={pinned.has(j.id)} />
              ))}
              {view.counts.map((c) => (
                <button
                  type="button"
                  key={c.status}
                  className={`group-count st-${c.status}`}
                  data-group-toggle={gkey}
                  title={`${c.n} ${STATUS_LABEL[c.status as keyof typeof STATUS_LABEL] ?? c.status} job${c.n === 1 ? '' : 's'} — click to expand`}
                  tabIndex={-1}
                >
                  +{c.n}
                </button>
              ))}
              <span className="paren">)</span>
            </span>
          );
        })}
      </div>
    </div>
  );
});

interface PushJobsProps {
  rows: PlatformRow[];
  selectedId: number;
  pinned: ReadonlySet<number>;
  expanded: boolean;
  expandedGroups: ReadonlySet<string>;
}

export function PushJobs({ rows, selectedId, pinned, expanded, expandedGroups }: PushJobsProps) {
  // Which row holds the selection, so only that row re-renders when it moves.
  const rowOf = useMemo(() => {
    const m = new Map<number, string>();
    for (const r of rows) {
      for (const j of r.ungrouped) m.set(j.id, r.key);
      for (const g of r.groups) for (const j of g.jobs) m.set(j.id, r.key);
    }
    return m;
  }, [rows]);
  const selRow = rowOf.get(selectedId);
  return (
    <div className="push-jobs">
      {rows.map((r) => (
        <PlatformRowView
          key={r.key}
          row={r}
          selectedId={selRow === r.key ? selectedId : 0}
          pinned={pinned}
          expanded={expanded}
          expandedGroups={expandedGroups}
        />
      ))}
    </div>
  );
}
