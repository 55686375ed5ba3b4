import { useState } from 'react';
import { getBugSuggestions, getTextLogErrors } from '../api/client';
import type { BugSuggestion, Job, JobLog, SuggestedBug } from '../api/types';
import { bugUrl } from '../lib/refdata';
import { useAsync } from '../lib/useAsync';
import { logViewerUrl } from '../logviewer/links';
import { pinboard } from './pinboard';

/** Treeherder shows at most 20 bugs per line. */
const MAX_BUGS = 20;

export interface ErrorLineView {
  lineNumber: number;
  line: string;
  isNew: boolean;
  counter: number | null;
  open: SuggestedBug[];
  others: SuggestedBug[];
}

/** Merges error lines with their bug suggestions (matched by line number). */
export function errorLines(errors: { line: string; line_number: number; new_failure: boolean }[], suggestions: BugSuggestion[]): ErrorLineView[] {
  const byLine = new Map(suggestions.map((s) => [s.line_number, s]));
  const out: ErrorLineView[] = errors.map((e) => {
    const s = byLine.get(e.line_number);
    byLine.delete(e.line_number);
    return {
      lineNumber: e.line_number,
      line: e.line,
      isNew: e.new_failure || !!s?.failure_new_in_rev,
      counter: s ? s.counter : null,
      open: s?.bugs.open_recent ?? [],
      others: s?.bugs.all_others ?? [],
    };
  });
  // Suggestions for lines the error list lacks (servers that send only suggestions).
  for (const s of byLine.values()) {
    out.push({
      lineNumber: s.line_number,
      line: s.search,
      isNew: s.failure_new_in_rev,
      counter: s.counter,
      open: s.bugs.open_recent,
      others: s.bugs.all_others,
    });
  }
  return out.sort((a, b) => a.lineNumber - b.lineNumber);
}

function BugRow({ bug, job }: { bug: SuggestedBug; job: Job }) {
  const id = bug.id;
  const closed = !!bug.resolution;
  return (
    <li className={`bug${closed ? ' closed' : ''}`}>
      <button
        type="button"
        className="btn-small pin-bug"
        title="Pin the job with this bug"
        onClick={() => {
          pinboard.pin(job);
          if (id != null) pinboard.addBug(id);
        }}
        disabled={id == null}
      >
        📌
      </button>{' '}
      {id != null ? (
        <a href={bugUrl(id)} target="_blank" rel="noreferrer" className="bug-id">
          {id}
        </a>
      ) : (
        <span className="bug-id internal" title="internal issue (no Bugzilla bug yet)">
          i{bug.internal_id}
        </span>
      )}{' '}
      <span className="bug-summary">{bug.summary}</span>
      {closed && <span className="bug-status"> [{bug.resolution.toLowerCase()}]</span>}
      {bug.occurrences != null && <span className="muted"> · {bug.occurrences} in 7 days</span>}
    </li>
  );
}

function ErrorLine({ e, job, repo }: { e: ErrorLineView; job: Job; repo: string }) {
  const [showOthers, setShowOthers] = useState(false);
  const open = e.open.slice(0, MAX_BUGS);
  const others = e.others.slice(0, Math.max(0, MAX_BUGS - open.length));
  return (
    <li className="error-line" data-line={e.lineNumber}>
      <div className="error-text">
        {e.isNew && (
          <span className="badge new" title="First seen in this push">
            NEW
          </span>
        )}
        {/* Error line numbers count from 0; the log viewer's from 1. */}
        <a className="line-link" href={logViewerUrl(repo, job.id, e.lineNumber + 1)} target="_blank" rel="noreferrer" title="Open this line in the log viewer">
          {e.lineNumber + 1}
        </a>{' '}
        <code>{e.line}</code>
        {e.counter != null && e.counter > 0 && (
          <span className="counter muted" title="Times this line was seen on integration branches in the last 21 days">
            {' '}
            · seen {e.counter}×
          </span>
        )}
      </div>
      {open.length > 0 && <ul className="bugs open-bugs">{open.map((b) => <BugRow key={`${b.id}-${b.internal_id}`} bug={b} job={job} />)}</ul>}
      {others.length > 0 && (
        <div className="other-bugs">
          <button type="button" className="link-button" onClick={() => setShowOthers(!showOthers)} aria-expanded={showOthers}>
            {showOthers ? 'Hide' : 'Show'} {others.length} other bug{others.length === 1 ? '' : 's'}
          </button>
          {showOthers && <ul className="bugs">{others.map((b) => <BugRow key={`${b.id}-${b.internal_id}`} bug={b} job={job} />)}</ul>}
        </div>
      )}
      {open.length === 0 && others.length === 0 && <div className="muted no-bugs">No bug suggestions for this line.</div>}
    </li>
  );
}

export function parseStatusNote(logs: JobLog[] | undefined): string | null {
  if (!logs) return null;
  if (!logs.length) return 'This job has no logs.';
  const raw = logs.filter((l) => l.name !== 'errorsummary_json');
  const pick = raw.length ? raw : logs;
  if (pick.some((l) => l.parse_status === 'pending')) return 'Log parsing has not finished yet.';
  if (pick.some((l) => l.parse_status === 'failed')) return 'Log parsing failed.';
  if (pick.some((l) => l.parse_status === 'skipped-size')) return 'The log was too large to parse.';
  return null;
}

export function FailureSummary({ repo, job, logs }: { repo: string; job: Job; logs: JobLog[] | undefined }) {
  const { data, error, loading } = useAsync(
    (signal) =>
      Promise.all([
        getTextLogErrors(repo, job.id, { signal }),
        getBugSuggestions(repo, job.id, { signal }).catch(() => [] as BugSuggestion[]),
      ]).then(([errs, sugg]) => errorLines(errs, sugg)),
    [repo, job.id, job.last_modified],
  );
  const note = parseStatusNote(logs);
  if (loading && !data) return <div className="muted">Loading the failure summary…</div>;
  if (error) return <div className="error">Could not load the failure summary: {error.message}</div>;
  return (
    <div className="failure-summary">
      {data && data.length > 0 ? (
        <ul className="error-lines">
          {data.map((e) => (
            <ErrorLine key={e.lineNumber} e={e} job={job} repo={repo} />
          ))}
        </ul>
      ) : (
        <div className="muted">{note ?? 'No error lines were found in the log.'}</div>
      )}
      {data && data.length > 0 && note && <div className="muted">{note}</div>}
    </div>
  );
}
