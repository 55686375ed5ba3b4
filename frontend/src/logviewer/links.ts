// Links into the log viewer and to raw logs.
import type { JobLog } from '../api/types';

/** Treeherder's log viewer URL: /logviewer?job_id=&repo=&lineNumber=N|A-B. */
export function logViewerUrl(repo: string, jobId: number, line?: number | [number, number]): string {
  const q = new URLSearchParams({ job_id: String(jobId), repo });
  if (Array.isArray(line)) q.set('lineNumber', line[0] === line[1] ? String(line[0]) : `${line[0]}-${line[1]}`);
  else if (line) q.set('lineNumber', String(line));
  return `/logviewer?${q}`;
}

/** The log a viewer shows: the raw (live backing) log, else the first one. */
export function mainLog(logs: JobLog[]): JobLog | undefined {
  return (
    logs.find((l) => l.name === 'live_backing_log') ??
    logs.find((l) => l.name === 'builds-4h') ??
    logs.find((l) => l.name !== 'errorsummary_json') ??
    logs[0]
  );
}

/**
 * Where the browser reads a raw log: herder's proxy when it has one (same
 * origin, bounded, no CORS needed), else the log's own URL.
 */
export function rawLogProxyUrl(repo: string, log: JobLog): string {
  return `/api/project/${encodeURIComponent(repo)}/job-log-url/${log.id}/raw/`;
}
