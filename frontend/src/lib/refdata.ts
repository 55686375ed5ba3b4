// Reference data every page needs, fetched once per page load.
import { useEffect, useState } from 'react';
import { getFailureClassifications, getRepositories } from '../api/client';
import type { FailureClassification, Repository } from '../api/types';

let repos: Promise<Repository[]> | null = null;
let classifications: Promise<FailureClassification[]> | null = null;

export function repositories(): Promise<Repository[]> {
  if (!repos) {
    repos = getRepositories();
    repos.catch(() => (repos = null));
  }
  return repos;
}

export function failureClassifications(): Promise<FailureClassification[]> {
  if (!classifications) {
    classifications = getFailureClassifications();
    classifications.catch(() => (classifications = null));
  }
  return classifications;
}

/** For tests: forget cached reference data. */
export function resetRefData() {
  repos = null;
  classifications = null;
}

function usePromise<T>(get: () => Promise<T>, initial: T): [T, Error | null] {
  const [v, setV] = useState<T>(initial);
  const [err, setErr] = useState<Error | null>(null);
  useEffect(() => {
    let live = true;
    get().then(
      (x) => live && setV(x),
      (e: Error) => live && setErr(e),
    );
    return () => {
      live = false;
    };
  }, [get]);
  return [v, err];
}

const noRepos: Repository[] = [];
const noClassifications: FailureClassification[] = [];

export const useRepositories = () => usePromise(repositories, noRepos);
export const useClassifications = () => usePromise(failureClassifications, noClassifications);

/** Commit links: hg's /rev/ or GitHub's /commit/. */
export function revisionUrl(repo: Repository | undefined, rev: string): string | undefined {
  if (!repo?.url) return undefined;
  const base = repo.url.replace(/\/$/, '');
  return repo.dvcs_type === 'git' ? `${base}/commit/${rev}` : `${base}/rev/${rev}`;
}

export function pushlogUrl(repo: Repository | undefined, rev: string): string | undefined {
  if (!repo?.url) return undefined;
  const base = repo.url.replace(/\/$/, '');
  return repo.dvcs_type === 'git' ? `${base}/commit/${rev}` : `${base}/pushloghtml?changeset=${rev}`;
}

export function bugUrl(id: number): string {
  return `https://bugzilla.mozilla.org/show_bug.cgi?id=${id}`;
}

/** Links "Bug 123456" in commit messages to Bugzilla. */
export function splitBugRefs(text: string): (string | { bug: number; text: string })[] {
  const out: (string | { bug: number; text: string })[] = [];
  const re = /\b[Bb]ug[ -]?(\d{4,8})\b/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push({ bug: Number(m[1]), text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
