import { useState } from 'react';
import { getSimilarJobs } from '../api/client';
import type { Job } from '../api/types';
import { displayStatus, STATUS_LABEL } from '../jobs/status';
import { onLinkClick } from '../lib/router';
import { formatTime, fromUnix } from '../lib/time';
import { useAsync } from '../lib/useAsync';

const PAGE = 20;

/** Jobs of the same type, newest push first, 20 per page (Treeherder's tab). */
export function SimilarJobs({ repo, job }: { repo: string; job: Job }) {
  const [offset, setOffset] = useState(0);
  const [noSuccess, setNoSuccess] = useState(false);
  const { data, error, loading } = useAsync(
    (signal) => getSimilarJobs(repo, job.id, { offset, count: PAGE, nosuccess: noSuccess }, { signal }),
    [repo, job.id, offset, noSuccess],
  );
  return (
    <div className="similar-jobs">
      <label>
        <input
          type="checkbox"
          checked={noSuccess}
          onChange={(e) => {
            setNoSuccess(e.target.checked);
            setOffset(0);
          }}
        />{' '}
        exclude successful jobs
      </label>
      {error && <div className="error">Could not load similar jobs: {error.message}</div>}
      {loading && !data && <div className="muted">Loading similar jobs…</div>}
      {data && (
        <table className="plain">
          <thead>
            <tr>
              <th>job</th>
              <th>result</th>
              <th>started</th>
              <th>push</th>
            </tr>
          </thead>
          <tbody>
            {data.results.map((j) => {
              const st = displayStatus(j);
              return (
                <tr key={j.id}>
                  <td>
                    <a href={`/jobs?repo=${encodeURIComponent(repo)}&selectedJob=${j.id}`} onClick={onLinkClick}>
                      <span className={`job st-${st}`}>{j.job_type_symbol}</span>
                    </a>{' '}
                    {j.platform} {j.platform_option}
                  </td>
                  <td>{STATUS_LABEL[st]}</td>
                  <td>{formatTime(fromUnix(j.start_timestamp))}</td>
                  <td>{j.result_set_id ?? j.push_id}</td>
                </tr>
              );
            })}
            {data.results.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No similar jobs.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" className="btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          newer
        </button>
        <button type="button" className="btn-small" disabled={!data || data.results.length < PAGE} onClick={() => setOffset(offset + PAGE)}>
          older
        </button>
      </div>
    </div>
  );
}
