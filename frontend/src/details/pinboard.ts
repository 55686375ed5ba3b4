// The pinboard: jobs gathered for one classification (classification,
// related bugs, comment), saved together.
import { useSyncExternalStore } from 'react';
import {
  deleteBugJobMap,
  deleteNote,
  getBugJobMaps,
  getNotes,
  postBugJobMap,
  postNote,
} from '../api/client';
import { ApiError } from '../api/http';
import type { Job } from '../api/types';

/** Treeherder's pinboard holds at most 500 jobs. */
export const MAX_PINNED = 500;
/** Treeherder's default classification in the pinboard: intermittent. */
export const DEFAULT_CLASSIFICATION = 4;

export interface PinboardState {
  jobs: Map<number, Job>;
  bugs: number[];
  classification: number;
  comment: string;
}

let state: PinboardState = { jobs: new Map(), bugs: [], classification: DEFAULT_CLASSIFICATION, comment: '' };
const listeners = new Set<() => void>();

function set(patch: Partial<PinboardState>) {
  state = { ...state, ...patch };
  for (const l of listeners) l();
}

export function usePinboard(): PinboardState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

export const pinboard = {
  get: () => state,
  pin(job: Job) {
    if (state.jobs.has(job.id) || state.jobs.size >= MAX_PINNED) return;
    const jobs = new Map(state.jobs);
    jobs.set(job.id, job);
    set({ jobs });
  },
  pinMany(list: Job[]) {
    const jobs = new Map(state.jobs);
    for (const j of list) if (jobs.size < MAX_PINNED) jobs.set(j.id, j);
    set({ jobs });
  },
  unpin(id: number) {
    if (!state.jobs.has(id)) return;
    const jobs = new Map(state.jobs);
    jobs.delete(id);
    set({ jobs });
  },
  toggle(job: Job) {
    if (state.jobs.has(job.id)) this.unpin(job.id);
    else this.pin(job);
  },
  addBug(id: number) {
    if (!Number.isInteger(id) || id <= 0 || state.bugs.includes(id)) return;
    set({ bugs: [...state.bugs, id] });
  },
  removeBug(id: number) {
    set({ bugs: state.bugs.filter((b) => b !== id) });
  },
  setClassification(classification: number) {
    set({ classification });
  },
  setComment(comment: string) {
    set({ comment });
  },
  clear() {
    set({ jobs: new Map(), bugs: [], classification: DEFAULT_CLASSIFICATION, comment: '' });
  },
};

/**
 * Treeherder's gate (PinBoard.jsx): intermittent needs a bug or a comment;
 * fixed by commit needs a bug or a comment longer than 7 characters (a
 * revision). Try and project repositories are exempt.
 */
export function classificationProblem(fcid: number, bugs: number[], comment: string, exempt: boolean): string | null {
  if (exempt || bugs.length) return null;
  const c = comment.trim();
  if (fcid === 4 && !c) return 'An intermittent classification needs a bug or a comment.';
  if (fcid === 2 && c.length <= 7) return 'Fixed by commit needs a bug or the fixing revision in the comment.';
  return null;
}

export interface SaveResult {
  saved: number[];
  errors: string[];
  /** A write endpoint the server lacks, or a refused credential. */
  status?: number;
}

async function eachLimited<T>(items: T[], n: number, fn: (t: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
    }),
  );
}

/** Posts a note (when a classification is chosen) and a bug link per bug, for every job. */
export async function saveClassification(
  repo: string,
  jobs: Job[],
  fcid: number,
  bugs: number[],
  comment: string,
): Promise<SaveResult> {
  const res: SaveResult = { saved: [], errors: [] };
  await eachLimited(jobs, 4, async (job) => {
    try {
      if (fcid > 0) await postNote(repo, { job_id: job.id, failure_classification_id: fcid, text: comment.trim() });
      for (const bug of bugs) await postBugJobMap(repo, { job_id: job.id, bug_id: bug, bug_open: false });
      res.saved.push(job.id);
    } catch (e) {
      if (e instanceof ApiError && !res.status) res.status = e.status;
      res.errors.push(`${job.job_type_symbol} (${job.id}): ${(e as Error).message}`);
    }
  });
  return res;
}

/** Removes a job's classification: every note and bug link it has (ctrl+backspace). */
export async function deleteClassification(repo: string, jobId: number): Promise<void> {
  const [notes, maps] = await Promise.all([getNotes(repo, jobId), getBugJobMaps(repo, [jobId])]);
  for (const m of maps) await deleteBugJobMap(repo, jobId, m);
  // Newest first, so the job's classification falls back step by step to 1.
  for (const n of [...notes].sort((a, b) => b.id - a.id)) await deleteNote(repo, n.id);
}
