// Shapes of Treeherder's REST API as herder serves it
// (../shared/reference/treeherder-api-ui.md §1).

export interface RepositoryGroup {
  name: string;
  description: string;
}

export interface Repository {
  id: number;
  name: string;
  repository_group: RepositoryGroup;
  dvcs_type: string;
  url: string;
  branch?: string | null;
  codebase?: string;
  description?: string;
  active_status: string;
  life_cycle_order?: number | null;
  is_try_repo: boolean;
  tc_root_url?: string;
}

export interface FailureClassification {
  id: number;
  name: string;
}

export interface Revision {
  result_set_id: number;
  repository_id: number;
  revision: string;
  author: string;
  comments: string;
}

export interface Push {
  id: number;
  revision: string;
  author: string;
  branch?: string | null;
  revisions: Revision[];
  revision_count: number;
  push_timestamp: number;
  repository_id: number;
}

export interface PushList {
  meta: { count: number; repository: string; filter_params: Record<string, string> };
  results: Push[];
}

/** A job as /api/jobs/ returns it (the compact columns, decoded). */
export interface Job {
  id: number;
  failure_classification_id: number;
  job_group_name: string;
  job_group_symbol: string;
  job_type_name: string;
  job_type_symbol: string;
  last_modified: string;
  platform: string;
  push_id: number;
  push_revision: string;
  result: string;
  signature: string;
  state: string;
  tier: number;
  task_id: string | null;
  retry_id: number | null;
  duration: number;
  platform_option: string;
}

export interface CompactJobs {
  count?: number;
  next: string | null;
  previous?: string | null;
  results: unknown[][];
  job_property_names: string[];
}

export interface LogRef {
  name: string;
  url: string;
}

/** /api/project/{repo}/jobs/{id}/ */
export interface JobDetail {
  id: number;
  job_guid: string;
  build_architecture: string;
  build_os: string;
  build_platform: string;
  machine_name: string;
  machine_platform_os: string;
  platform: string;
  platform_option?: string;
  job_group_name: string;
  job_group_symbol: string;
  job_type_name: string;
  job_type_symbol: string;
  job_type_id: number;
  failure_classification_id: number;
  push_id: number;
  reason: string;
  result: string;
  state: string;
  tier: number;
  who: string;
  submit_timestamp: number;
  start_timestamp: number;
  end_timestamp: number;
  last_modified: string;
  signature: string;
  logs: LogRef[];
  task_id?: string;
  retry_id?: number;
  taskcluster_metadata?: { task_id: string; retry_id: number };
}

/** /api/project/{repo}/job-log-url/ */
export interface JobLog {
  id: number;
  job_id: number;
  name: string;
  url: string;
  parse_status: string;
}

export interface TextLogError {
  id: number;
  job: number;
  line: string;
  line_number: number;
  new_failure: boolean;
}

export interface SuggestedBug {
  id: number | null;
  internal_id: number;
  status: string;
  resolution: string;
  summary: string;
  dupe_of: number | null;
  crash_signature: string;
  keywords: string;
  whiteboard: string;
  occurrences: number | null;
}

export interface BugSuggestion {
  search: string;
  search_terms: string[];
  path_end: string | null;
  bugs: { open_recent: SuggestedBug[]; all_others: SuggestedBug[] };
  line_number: number;
  counter: number;
  failure_new_in_rev: boolean;
}

export interface Note {
  id: number;
  job_id: number;
  failure_classification_id: number;
  created: string;
  who: string;
  text: string;
}

export interface BugJobMap {
  job_id: number;
  bug_id: number | null;
  bug_internal_id: number;
  created: string;
  who: string;
}

export interface User {
  username: string;
  email: string;
  is_staff: boolean;
  is_superuser?: boolean;
}

export interface BugCount {
  bug_id: number | null;
  bug_count: number;
}

export interface FailureByBug {
  push_time: string;
  platform: string;
  revision: string;
  test_suite: string;
  tree: string;
  build_type: string;
  job_id: number;
  bug_id: number;
  machine_name: string;
  lines: string[];
  task_id: string;
}

export interface FailureCount {
  date: string;
  test_runs: number;
  failure_count: number;
}
