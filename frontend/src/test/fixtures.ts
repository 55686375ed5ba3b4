// Test data in the API's shapes and a fetch mock that routes by path.
import { vi } from 'vitest';
import type { BugSuggestion, Job, Push, Repository } from '../api/types';

export const JOB_PROPERTY_NAMES = [
  'failure_classification_id',
  'id',
  'job_group_name',
  'job_group_symbol',
  'job_type_name',
  'job_type_symbol',
  'last_modified',
  'platform',
  'push_id',
  'push_revision',
  'result',
  'signature',
  'state',
  'tier',
  'task_id',
  'retry_id',
  'duration',
  'platform_option',
];

export function job(p: Partial<Job> & { id: number }): Job {
  return {
    failure_classification_id: 1,
    job_group_name: 'unknown',
    job_group_symbol: '?',
    job_type_name: `test-linux64/opt-job-${p.id}`,
    job_type_symbol: `J${p.id}`,
    last_modified: '2026-05-01T10:00:00.000000',
    platform: 'linux64',
    push_id: 1,
    push_revision: 'a'.repeat(40),
    result: 'success',
    signature: 'sig',
    state: 'completed',
    tier: 1,
    task_id: `task${p.id}`,
    retry_id: 0,
    duration: 5,
    platform_option: 'opt',
    ...p,
  };
}

export const toRow = (j: Job) => JOB_PROPERTY_NAMES.map((k) => (j as unknown as Record<string, unknown>)[k]);

export function push(id: number, p: Partial<Push> = {}): Push {
  const revision = (id.toString(16) + 'f'.repeat(40)).slice(0, 40);
  return {
    id,
    revision,
    author: `dev${id}@example.com`,
    revisions: [{ result_set_id: id, repository_id: 77, revision, author: `Dev ${id} <dev${id}@example.com>`, comments: `Bug 12345${id} - change ${id}` }],
    revision_count: 1,
    push_timestamp: 1_700_000_000 + id * 100,
    repository_id: 77,
    ...p,
  };
}

export const REPOS: Repository[] = [
  {
    id: 77,
    name: 'autoland',
    repository_group: { name: 'development', description: '' },
    dvcs_type: 'hg',
    url: 'https://hg.mozilla.org/integration/autoland',
    active_status: 'active',
    is_try_repo: false,
    tc_root_url: 'https://tc.example.com',
  },
  {
    id: 4,
    name: 'try',
    repository_group: { name: 'development', description: '' },
    dvcs_type: 'hg',
    url: 'https://hg.mozilla.org/try',
    active_status: 'active',
    is_try_repo: true,
  },
  {
    id: 2,
    name: 'mozilla-beta',
    repository_group: { name: 'release-stabilization', description: '' },
    dvcs_type: 'hg',
    url: 'https://hg.mozilla.org/releases/mozilla-beta',
    active_status: 'active',
    is_try_repo: false,
  },
];

export const CLASSIFICATIONS = [
  { id: 1, name: 'not classified' },
  { id: 2, name: 'fixed by commit' },
  { id: 3, name: 'expected fail' },
  { id: 4, name: 'intermittent' },
  { id: 5, name: 'infra' },
  { id: 6, name: 'new failure not classified' },
  { id: 7, name: 'autoclassified intermittent' },
  { id: 8, name: 'intermittent needs bugid' },
];

export function suggestion(line_number: number, p: Partial<BugSuggestion> = {}): BugSuggestion {
  return {
    search: `TEST-UNEXPECTED-FAIL | test_${line_number}.js | boom`,
    search_terms: [`test_${line_number}.js`],
    path_end: `test_${line_number}.js`,
    bugs: { open_recent: [], all_others: [] },
    line_number,
    counter: 3,
    failure_new_in_rev: false,
    ...p,
  };
}

export interface Call {
  method: string;
  url: URL;
  body: unknown;
  headers: Record<string, string>;
}

type Handler = (url: URL, call: Call) => unknown;

/**
 * Replaces fetch with a router: keys are "METHOD /path/" (or "/path/" for
 * GET); a handler returns a body (JSON) or a Response. Unknown paths 404.
 */
export function mockFetch(routes: Record<string, Handler | unknown>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, 'http://localhost');
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const call: Call = { method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined, headers };
    calls.push(call);
    const key = method === 'GET' && routes[url.pathname] !== undefined ? url.pathname : `${method} ${url.pathname}`;
    const route = routes[key];
    if (route === undefined) return new Response(JSON.stringify({ detail: `Not found: ${url.pathname}` }), { status: 404 });
    const out = typeof route === 'function' ? (route as Handler)(url, call) : route;
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fn);
  return { calls, fn };
}

/** A compact /api/jobs/ page. */
export function jobsPage(jobs: Job[], next: string | null = null) {
  return { count: jobs.length, next, previous: null, results: jobs.map(toRow), job_property_names: JOB_PROPERTY_NAMES };
}
