import type { FailureClassification, Job, Repository } from '../api/types';
import { getJobDetail, getJobLogs } from '../api/client';
import { taskRun } from '../jobs/filters';
import { platformName } from '../jobs/grouping';
import { displayStatus, isClassified, isFailure, STATUS_LABEL } from '../jobs/status';
import { formatDuration, formatTime, fromUnix } from '../lib/time';
import { useAsync } from '../lib/useAsync';
import { logViewerUrl, mainLog } from '../logviewer/links';
import { Annotations } from './Annotations';
import { FailureSummary } from './FailureSummary';
import { SimilarJobs } from './SimilarJobs';

export const TABS = ['failure', 'annotations', 'similar'] as const;
export type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = { failure: 'Failure Summary', annotations: 'Annotations', similar: 'Similar Jobs' };

interface Props {
  repo: string;
  repository: Repository | undefined;
  job: Job;
  tab: Tab;
  setTab: (t: Tab) => void;
  classifications: FailureClassification[];
  onClose: () => void;
  onChanged: (jobIds: number[]) => void;
}

const STATUS_TEXT: Record<string, string> = {
  pending: 'parsing pending',
  parsed: 'parsed',
  failed: 'parse failed',
  'skipped-size': 'too large to parse',
};

export function DetailsPanel({ repo, repository, job, tab, setTab, classifications, onClose, onChanged }: Props) {
  const detail = useAsync((signal) => getJobDetail(repo, job.id, { signal }), [repo, job.id, job.last_modified]);
  const logs = useAsync((signal) => getJobLogs(repo, [job.id], { signal }), [repo, job.id, job.last_modified]);
  const d = detail.data;
  const st = displayStatus(job);
  const log = logs.data ? mainLog(logs.data) : undefined;
  const tc = repository?.tc_root_url || 'https://firefox-ci-tc.services.mozilla.com';
  const fc = classifications.find((c) => c.id === job.failure_classification_id);
  const duration = d && d.end_timestamp && d.start_timestamp ? formatDuration(d.end_timestamp - d.start_timestamp) : null;

  return (
    <div className="details-panel" data-testid="details-panel" aria-label={`Details of ${job.job_type_name}`}>
      <aside className="job-summary">
        <div className="summary-head">
          <span className={`job st-${st}${isFailure(job) && isClassified(job.failure_classification_id) ? ' classified' : ''}`}>{job.job_type_symbol}</span>{' '}
          <strong className={`result-text st-text-${st}`}>{STATUS_LABEL[st]}</strong>
          <button type="button" className="close" aria-label="Close the details panel (esc)" onClick={onClose}>
            ×
          </button>
        </div>
        <dl>
          <dt>Job</dt>
          <dd className="job-name">{job.job_type_name}</dd>
          <dt>Platform</dt>
          <dd>
            {platformName(job.platform)} {job.platform_option}
          </dd>
          {isFailure(job) && (
            <>
              <dt>Classification</dt>
              <dd>{fc ? fc.name : job.failure_classification_id}</dd>
            </>
          )}
          <dt>Task</dt>
          <dd>
            {job.task_id ? (
              <a href={`${tc}/tasks/${job.task_id}/runs/${job.retry_id ?? 0}`} target="_blank" rel="noreferrer" data-testid="task-link">
                {job.task_id}.{job.retry_id ?? 0}
              </a>
            ) : (
              '—'
            )}
          </dd>
          {d && (
            <>
              <dt>Machine</dt>
              <dd>{d.machine_name || '—'}</dd>
              <dt>Requested</dt>
              <dd>{formatTime(fromUnix(d.submit_timestamp))}</dd>
              <dt>Started</dt>
              <dd>{formatTime(fromUnix(d.start_timestamp))}</dd>
              <dt>Ended</dt>
              <dd>
                {formatTime(fromUnix(d.end_timestamp))}
                {duration && <span className="muted"> ({duration})</span>}
              </dd>
              <dt>Reason</dt>
              <dd>{d.reason}</dd>
              <dt>By</dt>
              <dd>{d.who}</dd>
              <dt>Tier</dt>
              <dd>{job.tier}</dd>
            </>
          )}
          {detail.error && (
            <dd className="error" style={{ gridColumn: '1 / -1' }}>
              {detail.error.message}
            </dd>
          )}
        </dl>
        <div className="logs">
          <div className="pb-title">Logs</div>
          {logs.error && <div className="error">{logs.error.message}</div>}
          {logs.data?.length === 0 && <div className="muted">none</div>}
          <ul>
            {logs.data?.map((l) => (
              <li key={l.id}>
                <a href={l.url} target="_blank" rel="noreferrer">
                  {l.name}
                </a>{' '}
                <span className={`parse-status ps-${l.parse_status}`}>{STATUS_TEXT[l.parse_status] ?? l.parse_status}</span>
              </li>
            ))}
          </ul>
          {log && (
            <a className="btn-small" href={logViewerUrl(repo, job.id)} target="_blank" rel="noreferrer" data-testid="open-log-viewer">
              open log viewer (l)
            </a>
          )}
        </div>
        <div className="muted small">
          permalink: <code>selectedTaskRun={taskRun(job) ?? job.id}</code>
        </div>
      </aside>
      <section className="job-tabs">
        <div className="tab-bar" role="tablist">
          {TABS.map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? 'on' : ''} onClick={() => setTab(t)}>
              {TAB_LABEL[t]}
            </button>
          ))}
          <span className="muted small tab-hint">t: next tab</span>
        </div>
        <div className="tab-body" role="tabpanel">
          {tab === 'failure' && <FailureSummary repo={repo} job={job} logs={logs.data} />}
          {tab === 'annotations' && <Annotations repo={repo} job={job} classifications={classifications} onChanged={onChanged} />}
          {tab === 'similar' && <SimilarJobs repo={repo} job={job} />}
        </div>
      </section>
    </div>
  );
}
