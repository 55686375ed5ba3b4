// The jobs view's state that lives in the URL, in Treeherder's parameter
// names, so links and habits carry over and a reload restores the view.
import type { Job } from '../api/types';
import { ALL_STATUSES, DEFAULT_HIDDEN_STATUSES, displayStatus, FAILURE_RESULTS, isClassified } from './status';

/** Field filters: URL parameter, label, and whether it matches a substring or exactly. */
export const FIELD_FILTERS = [
  { key: 'job_type_name', label: 'job name', match: 'substr' },
  { key: 'job_type_symbol', label: 'job symbol', match: 'exact' },
  { key: 'job_group_name', label: 'group name', match: 'substr' },
  { key: 'job_group_symbol', label: 'group symbol', match: 'exact' },
  { key: 'platform', label: 'platform', match: 'substr' },
  { key: 'failure_classification_id', label: 'failure classification', match: 'exact' },
  { key: 'task_id', label: 'task id', match: 'exact' },
] as const;

export type FieldKey = (typeof FIELD_FILTERS)[number]['key'];

/** Parameters that change which pushes are fetched. */
export const RANGE_PARAMS = ['revision', 'author', 'fromchange', 'tochange', 'startdate', 'enddate'] as const;
export type RangeKey = (typeof RANGE_PARAMS)[number];

export interface JobsUrlState {
  repo: string;
  range: Partial<Record<RangeKey, string>>;
  /** Shown statuses. */
  resultStatus: string[];
  classifiedState: ('classified' | 'unclassified')[];
  tier: number[];
  searchStr: string;
  fields: { key: FieldKey; value: string }[];
  selectedTaskRun?: string;
  /** Legacy permalink by job id. */
  selectedJob?: number;
  groupState: 'collapsed' | 'expanded';
  collapsedPushes: number[];
}

export const DEFAULT_REPO = 'autoland';
export const DEFAULT_STATUSES: string[] = ALL_STATUSES.filter((s) => !DEFAULT_HIDDEN_STATUSES.includes(s));
export const DEFAULT_TIERS = [1, 2];
export const ALL_CLASSIFIED: JobsUrlState['classifiedState'] = ['classified', 'unclassified'];

function list(q: URLSearchParams, key: string): string[] | undefined {
  const all = q.getAll(key);
  if (all.length === 0) return undefined;
  return all
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseJobsUrl(search: string): JobsUrlState {
  const q = new URLSearchParams(search);
  const range: JobsUrlState['range'] = {};
  for (const k of RANGE_PARAMS) {
    const v = q.get(k);
    if (v) range[k] = v;
  }
  const statuses = list(q, 'resultStatus');
  const tiers = list(q, 'tier')
    ?.map(Number)
    .filter((n) => n >= 1 && n <= 3);
  const classified = list(q, 'classifiedState')?.filter(
    (s): s is 'classified' | 'unclassified' => s === 'classified' || s === 'unclassified',
  );
  const fields: JobsUrlState['fields'] = [];
  for (const f of FIELD_FILTERS) {
    for (const v of q.getAll(f.key)) if (v) fields.push({ key: f.key, value: v });
  }
  const selectedJob = Number(q.get('selectedJob'));
  return {
    repo: q.get('repo') || DEFAULT_REPO,
    range,
    resultStatus: statuses ?? DEFAULT_STATUSES,
    classifiedState: classified && classified.length ? classified : ALL_CLASSIFIED,
    tier: tiers && tiers.length ? [...new Set(tiers)].sort() : DEFAULT_TIERS,
    searchStr: q.get('searchStr') ?? '',
    fields,
    selectedTaskRun: q.get('selectedTaskRun') || undefined,
    selectedJob: Number.isFinite(selectedJob) && selectedJob > 0 ? selectedJob : undefined,
    groupState: q.get('group_state') === 'expanded' ? 'expanded' : 'collapsed',
    collapsedPushes: (list(q, 'collapsedPushes') ?? []).map(Number).filter((n) => n > 0),
  };
}

const sameSet = <T>(a: T[], b: T[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Serialises the state, leaving defaults out so URLs stay short. */
export function formatJobsUrl(s: JobsUrlState): string {
  const q = new URLSearchParams();
  q.set('repo', s.repo);
  for (const k of RANGE_PARAMS) if (s.range[k]) q.set(k, s.range[k]!);
  if (!sameSet(s.resultStatus, DEFAULT_STATUSES)) {
    const ordered = ALL_STATUSES.filter((x) => s.resultStatus.includes(x));
    q.set('resultStatus', ordered.length ? ordered.join(',') : 'none');
  }
  if (!sameSet(s.classifiedState, ALL_CLASSIFIED)) q.set('classifiedState', s.classifiedState.join(','));
  if (!sameSet(s.tier, DEFAULT_TIERS)) q.set('tier', [...s.tier].sort().join(','));
  if (s.searchStr) q.set('searchStr', s.searchStr);
  for (const f of s.fields) q.append(f.key, f.value);
  if (s.groupState === 'expanded') q.set('group_state', 'expanded');
  if (s.collapsedPushes.length) q.set('collapsedPushes', s.collapsedPushes.join(','));
  if (s.selectedTaskRun) q.set('selectedTaskRun', s.selectedTaskRun);
  else if (s.selectedJob) q.set('selectedJob', String(s.selectedJob));
  return '?' + q.toString();
}

/** True when the unclassified-failures-only view is on (the `u` key). */
export function isUnclassifiedOnly(s: JobsUrlState): boolean {
  return (
    sameSet(s.classifiedState, ['unclassified']) &&
    s.resultStatus.length === FAILURE_RESULTS.length &&
    FAILURE_RESULTS.every((r) => s.resultStatus.includes(r))
  );
}

export function toggleUnclassifiedOnly(s: JobsUrlState): JobsUrlState {
  if (isUnclassifiedOnly(s)) return { ...s, resultStatus: DEFAULT_STATUSES, classifiedState: ALL_CLASSIFIED };
  return { ...s, resultStatus: [...FAILURE_RESULTS], classifiedState: ['unclassified'] };
}

/** The text the quick filter searches: platform, option, group and job names and symbols. */
export function searchText(job: Job, platformLabel: string): string {
  return `${platformLabel} ${job.platform} ${job.platform_option} ${job.job_group_name} ${job.job_group_symbol} ${job.job_type_name} ${job.job_type_symbol}`.toLowerCase();
}

/**
 * A compiled filter: built once per state change, then run over thousands of
 * jobs, so it does the parsing up front.
 */
export function compileFilter(s: JobsUrlState, platformLabel: (job: Job) => string): (job: Job) => boolean {
  const statuses = new Set(s.resultStatus);
  const tiers = new Set(s.tier);
  const wantClassified = s.classifiedState.includes('classified');
  const wantUnclassified = s.classifiedState.includes('unclassified');
  const terms = s.searchStr.toLowerCase().split(/\s+/).filter(Boolean);
  const fields = s.fields.map((f) => {
    const def = FIELD_FILTERS.find((d) => d.key === f.key)!;
    return { key: f.key, value: f.value.toLowerCase(), exact: def.match === 'exact' };
  });
  return (job) => {
    if (!statuses.has(displayStatus(job))) return false;
    if (!tiers.has(job.tier)) return false;
    if (!(wantClassified && wantUnclassified)) {
      const c = isClassified(job.failure_classification_id);
      if (c ? !wantClassified : !wantUnclassified) return false;
    }
    for (const f of fields) {
      let v: string;
      if (f.key === 'platform') v = `${job.platform} ${platformLabel(job)}`;
      else v = String((job as unknown as Record<string, unknown>)[f.key] ?? '');
      v = v.toLowerCase();
      if (f.exact ? v !== f.value : !v.includes(f.value)) return false;
    }
    if (terms.length) {
      const text = searchText(job, platformLabel(job));
      for (const t of terms) if (!text.includes(t)) return false;
    }
    return true;
  };
}

/** "taskId.run" for a job, as selectedTaskRun carries it. */
export function taskRun(job: Pick<Job, 'task_id' | 'retry_id'>): string | undefined {
  return job.task_id ? `${job.task_id}.${job.retry_id ?? 0}` : undefined;
}
