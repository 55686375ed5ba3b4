// The API calls the UI makes, in Treeherder's paths and shapes.
import { ApiError, getJSON, relativeLink, request, withQuery, type RequestOptions } from './http';
import type {
  BugCount,
  BugJobMap,
  BugSuggestion,
  CompactJobs,
  FailureByBug,
  FailureClassification,
  FailureCount,
  Job,
  JobDetail,
  JobLog,
  Note,
  PushList,
  Repository,
  TextLogError,
  User,
} from './types';

const project = (repo: string) => `/api/project/${encodeURIComponent(repo)}`;

/** How this server lets people sign in (GET /api/auth/). */
export interface AuthMethods {
  oidc: boolean;
  login_url?: string;
  tokens: boolean;
}

export const getAuthMethods = (o?: RequestOptions) => getJSON<AuthMethods>('/api/auth/', o);

/** The provider sign-in URL that brings the browser back to `next`. */
export const ssoLoginURL = (m: AuthMethods, next: string) =>
  `${m.login_url ?? '/api/auth/login/'}?next=${encodeURIComponent(next.startsWith('/') ? next : '/')}`;

export const getRepositories = (o?: RequestOptions) => getJSON<Repository[]>('/api/repository/', o);

export const getFailureClassifications = (o?: RequestOptions) =>
  getJSON<FailureClassification[]>('/api/failureclassification/', o);

export type PushParams = Record<string, string | number | undefined>;

export const getPushes = (repo: string, params: PushParams, o?: RequestOptions) =>
  getJSON<PushList>(withQuery(`${project(repo)}/push/`, params), o);

/** Decodes compact rows (arrays plus job_property_names) into objects. */
export function decodeCompact(page: Pick<CompactJobs, 'results' | 'job_property_names'>): Job[] {
  const names = page.job_property_names;
  return page.results.map((row) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) o[names[i]] = row[i];
    return o as unknown as Job;
  });
}

/**
 * Fetches every page of /api/jobs/ for the given filters, following `next`.
 * 2000 jobs per page is the API's maximum.
 */
export async function getJobs(
  params: Record<string, string | number | undefined>,
  o?: RequestOptions,
): Promise<Job[]> {
  let url: string | null = withQuery('/api/jobs/', { count: 2000, ...params });
  const out: Job[] = [];
  for (let pages = 0; url && pages < 100; pages++) {
    const page: CompactJobs = await getJSON<CompactJobs>(url, o);
    for (const j of decodeCompact(page)) out.push(j);
    url = page.next ? relativeLink(page.next) : null;
  }
  return out;
}

export const getJobDetail = (repo: string, id: number, o?: RequestOptions) =>
  getJSON<JobDetail>(`${project(repo)}/jobs/${id}/`, o);

export const getTextLogErrors = (repo: string, id: number, o?: RequestOptions) =>
  getJSON<TextLogError[]>(`${project(repo)}/jobs/${id}/text_log_errors/`, o);

export const getBugSuggestions = (repo: string, id: number, o?: RequestOptions) =>
  getJSON<BugSuggestion[]>(`${project(repo)}/jobs/${id}/bug_suggestions/`, o);

export const getJobLogs = (repo: string, jobIds: number[], o?: RequestOptions) =>
  getJSON<JobLog[]>(withQuery(`${project(repo)}/job-log-url/`, { job_id: jobIds }), o);

export const getNotes = (repo: string, jobId: number, o?: RequestOptions) =>
  getJSON<Note[]>(withQuery(`${project(repo)}/note/`, { job_id: jobId }), o);

export const getBugJobMaps = (repo: string, jobIds: number[], o?: RequestOptions) =>
  getJSON<BugJobMap[]>(withQuery(`${project(repo)}/bug-job-map/`, { job_id: jobIds }), o);

export interface SimilarJobsPage {
  results: (Job & { job_type_name: string; result_set_id?: number; start_timestamp?: number; end_timestamp?: number })[];
  meta: { offset: number; count: number; repository: string };
}

export const getSimilarJobs = (
  repo: string,
  id: number,
  params: { offset?: number; count?: number; nosuccess?: boolean },
  o?: RequestOptions,
) =>
  getJSON<SimilarJobsPage>(
    withQuery(`${project(repo)}/jobs/${id}/similar_jobs/`, {
      offset: params.offset,
      count: params.count,
      nosuccess: params.nosuccess ? 'true' : undefined,
    }),
    o,
  );

// ---- classification writes (Treeherder's note/ and bug-job-map/) ----

export const postNote = (repo: string, body: { job_id: number; failure_classification_id: number; text: string }) =>
  request<{ message?: string }>('POST', `${project(repo)}/note/`, body);

export const deleteNote = (repo: string, noteId: number) =>
  request<void>('DELETE', `${project(repo)}/note/${noteId}/`);

export const postBugJobMap = (
  repo: string,
  body: { job_id: number; bug_id?: number; internal_id?: number; bug_open?: boolean },
) => request<unknown>('POST', `${project(repo)}/bug-job-map/`, body);

/** Unlinks a bug: `{job}-{bug}/`, or `{job}-i{internal}/` for an internal issue. */
export const deleteBugJobMap = (repo: string, jobId: number, bug: { bug_id: number | null; bug_internal_id?: number }) =>
  request<void>(
    'DELETE',
    `${project(repo)}/bug-job-map/${jobId}-${bug.bug_id != null ? bug.bug_id : `i${bug.bug_internal_id}`}/`,
  );

/**
 * The signed-in user; null when the server says nobody is signed in (or
 * refuses the credential); undefined when the server has no /api/user/.
 */
export async function getUser(o?: RequestOptions): Promise<User | null | undefined> {
  try {
    const users = await getJSON<User[] | User>('/api/user/', { ...o, auth: true });
    if (Array.isArray(users)) return users[0] ?? null;
    return users ?? null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return null;
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return undefined;
    throw e;
  }
}

// ---- intermittent failures ----

export interface FailureRange {
  startday: string;
  endday: string;
  tree: string;
}

export const getFailures = (r: FailureRange, o?: RequestOptions) =>
  getJSON<BugCount[]>(withQuery('/api/failures/', { ...r }), o);

export const getFailuresByBug = (r: FailureRange & { bug: number }, o?: RequestOptions) =>
  getJSON<FailureByBug[]>(withQuery('/api/failuresbybug/', { ...r }), o);

export const getFailureCount = (r: FailureRange & { bug?: number }, o?: RequestOptions) =>
  getJSON<FailureCount[]>(withQuery('/api/failurecount/', { ...r }), o);
