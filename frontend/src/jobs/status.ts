// How a job looks: Treeherder's status rules and colour scheme
// (css/treeherder-job-buttons.css), plus herder's non-colour cue.
import type { Job } from '../api/types';

/** Every status a job button can show, in the order chicklets list them. */
export const ALL_STATUSES = [
  'testfailed',
  'busted',
  'exception',
  'success',
  'retry',
  'usercancel',
  'running',
  'pending',
  'superseded',
  'unscheduled',
] as const;

export type Status = (typeof ALL_STATUSES)[number] | 'unknown';

/** Hidden by default, as in Treeherder. */
export const DEFAULT_HIDDEN_STATUSES: readonly string[] = ['superseded', 'unscheduled'];

export const FAILURE_RESULTS: readonly string[] = ['testfailed', 'busted', 'exception'];

/** The displayed status is the state unless the job completed, then the result. */
export function displayStatus(job: Pick<Job, 'state' | 'result'>): Status {
  const s = job.state === 'completed' ? job.result : job.state;
  return (ALL_STATUSES as readonly string[]).includes(s) ? (s as Status) : 'unknown';
}

/** Classified: fcid > 1 and not "new failure not classified" (6) nor "intermittent needs bugid" (8). */
export function isClassified(fcid: number): boolean {
  return fcid > 1 && fcid !== 6 && fcid !== 8;
}

export function isFailure(job: Pick<Job, 'state' | 'result'>): boolean {
  return job.state === 'completed' && FAILURE_RESULTS.includes(job.result);
}

export function isUnclassifiedFailure(job: Pick<Job, 'state' | 'result' | 'failure_classification_id'>): boolean {
  return isFailure(job) && !isClassified(job.failure_classification_id);
}

/** A short word for each status: the tooltip, the screen-reader label and the legend. */
export const STATUS_LABEL: Record<Status, string> = {
  testfailed: 'test failed',
  busted: 'busted',
  exception: 'exception',
  success: 'success',
  retry: 'retry',
  usercancel: 'cancelled',
  running: 'running',
  pending: 'pending',
  superseded: 'superseded',
  unscheduled: 'unscheduled',
  unknown: 'unknown',
};

/**
 * Treeherder's colours. The second cue for colour-blind users is the
 * button's shape in CSS (.st-*): failures are filled (busted striped,
 * exception dotted), retry has a dashed border, cancelled is struck through,
 * pending dotted, running bold; and the label says the status in words.
 */
export const STATUS_COLOUR: Record<Status, string> = {
  success: 'rgba(2,130,51,.95)',
  testfailed: '#dd6602',
  busted: '#b74c4c',
  exception: '#9a7da6',
  retry: '#283aa2',
  usercancel: '#cf2b9f',
  superseded: '#3f77c6',
  running: '#333',
  pending: '#757575',
  unscheduled: '#26d7b6',
  unknown: '#8a6d3b',
};

export function jobClassName(job: Job, selected: boolean, pinned: boolean): string {
  const st = displayStatus(job);
  let c = `job st-${st}`;
  if (isFailure(job) && isClassified(job.failure_classification_id)) c += ' classified';
  if (selected) c += ' selected';
  if (pinned) c += ' pinned';
  return c;
}

/** The star after a classified failure's symbol: hollow when autoclassified (7). */
export function classificationMark(job: Job): string {
  if (!isFailure(job) || !isClassified(job.failure_classification_id)) return '';
  return job.failure_classification_id === 7 ? '☆' : '★';
}

export function jobTitle(job: Job): string {
  const st = STATUS_LABEL[displayStatus(job)];
  const mins = job.duration ? ` - ${job.duration} min${job.duration === 1 ? '' : 's'}` : '';
  const cls = isFailure(job) && isClassified(job.failure_classification_id) ? ' - classified' : '';
  return `${job.job_type_name} - ${st}${cls}${mins}`;
}
