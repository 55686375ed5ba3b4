// The jobs view's data: pushes newest first and their jobs, with paging
// ("get next N"), live updates by polling last_modified, and targeted
// refreshes after a classification. A plain store (not React state) so a
// 3,000-job push updates one push's array at a time, and tests drive it
// without rendering.
import { getJobs, getPushes } from '../api/client';
import type { Job, Push } from '../api/types';
import type { RangeKey } from './filters';

export interface PushState {
  repo: string;
  pushes: Push[];
  /** Jobs per push id; a push absent here has not loaded its jobs yet. */
  jobs: Map<number, Job[]>;
  loading: boolean;
  loadingMore: boolean;
  error: string | null;
  /** Bumped whenever anything changes, for cheap change detection. */
  version: number;
}

type Range = Partial<Record<RangeKey, string>>;

/** Pushes fetched at first load, as Treeherder. */
export const DEFAULT_PUSH_COUNT = 10;
/** Most pushes the UI shows, as Treeherder. */
export const MAX_PUSHES = 100;

const rangeKey = (repo: string, r: Range) => JSON.stringify([repo, r.revision, r.author, r.fromchange, r.tochange, r.startdate, r.enddate]);

/** ISO without zone (Treeherder's last_modified) minus `secs`, in the same format. */
export function isoMinus(iso: string, secs: number): string {
  const t = Date.parse(iso.endsWith('Z') ? iso : iso + 'Z');
  if (Number.isNaN(t)) return iso;
  return new Date(t - secs * 1000).toISOString().replace('Z', '');
}

export class PushStore {
  private state: PushState = { repo: '', pushes: [], jobs: new Map(), loading: false, loadingMore: false, error: null, version: 0 };
  private listeners = new Set<() => void>();
  private key = '';
  private range: Range = {};
  private abort: AbortController | null = null;
  private lastModified = '';
  private polling = false;

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  getState = () => this.state;

  private set(patch: Partial<PushState>) {
    this.state = { ...this.state, ...patch, version: this.state.version + 1 };
    for (const l of this.listeners) l();
  }

  /** Loads (or keeps) the pushes of a repository and range. */
  setRange(repo: string, range: Range): Promise<void> {
    const k = rangeKey(repo, range);
    if (k === this.key) return Promise.resolve();
    this.key = k;
    this.range = { ...range };
    this.abort?.abort();
    const ctl = new AbortController();
    this.abort = ctl;
    this.lastModified = '';
    this.set({ repo, pushes: [], jobs: new Map(), loading: true, loadingMore: false, error: null });
    return this.fetchPushes(repo, range, ctl.signal);
  }

  private pushParams(range: Range): Record<string, string | number | undefined> {
    const bounded = range.fromchange || range.tochange || range.startdate || range.enddate;
    return { ...range, full: 'true', count: bounded ? MAX_PUSHES : DEFAULT_PUSH_COUNT };
  }

  private async fetchPushes(repo: string, range: Range, signal: AbortSignal) {
    try {
      const list = await getPushes(repo, this.pushParams(range), { signal });
      if (signal.aborted) return;
      this.set({ pushes: list.results, loading: false });
      await this.loadJobs(list.results.map((p) => p.id), signal);
    } catch (e) {
      if (signal.aborted) return;
      this.set({ loading: false, error: (e as Error).message });
    }
  }

  /** Loads the jobs of pushes, a few pushes at a time, publishing each as it lands. */
  private async loadJobs(pushIds: number[], signal: AbortSignal) {
    const queue = [...pushIds];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const jobs = await getJobs({ push_id: id }, { signal });
        if (signal.aborted) return;
        const next = new Map(this.state.jobs);
        next.set(id, jobs);
        this.noteModified(jobs);
        this.set({ jobs: next });
      }
    };
    try {
      await Promise.all([worker(), worker(), worker(), worker()]);
    } catch (e) {
      if (!signal.aborted) this.set({ error: (e as Error).message });
    }
  }

  private noteModified(jobs: Job[]) {
    for (const j of jobs) if (j.last_modified > this.lastModified) this.lastModified = j.last_modified;
  }

  /**
   * Fetches `n` older pushes. Returns the revision of the new oldest push,
   * which the view writes into `fromchange` so a reload shows the same list.
   */
  async loadMore(n: number): Promise<string | undefined> {
    const { repo, pushes } = this.state;
    const oldest = pushes[pushes.length - 1];
    if (!oldest || this.state.loadingMore) return undefined;
    const signal = this.abort?.signal;
    this.set({ loadingMore: true });
    try {
      const room = Math.max(0, MAX_PUSHES - pushes.length);
      const want = Math.min(n, room);
      if (want === 0) {
        this.set({ loadingMore: false });
        return undefined;
      }
      const { fromchange: _f, ...rest } = this.range;
      void _f;
      const list = await getPushes(repo, { ...rest, full: 'true', push_timestamp__lte: oldest.push_timestamp, count: want + 1 }, { signal });
      if (signal?.aborted) return undefined;
      const seen = new Set(pushes.map((p) => p.id));
      const added = list.results.filter((p) => !seen.has(p.id)).slice(0, want);
      this.set({ pushes: [...pushes, ...added], loadingMore: false });
      const newOldest = added[added.length - 1] ?? oldest;
      // The view writes fromchange; that must not reload what is here.
      this.range = { ...this.range, fromchange: newOldest.revision };
      this.key = rangeKey(repo, this.range);
      if (signal) await this.loadJobs(added.map((p) => p.id), signal);
      return newOldest.revision;
    } catch (e) {
      if (!signal?.aborted) this.set({ loadingMore: false, error: (e as Error).message });
      return undefined;
    }
  }

  /** Replaces changed jobs (by id) and adds new ones, touching only their pushes. */
  applyJobs(changed: Job[]) {
    if (!changed.length) return;
    const byPush = new Map<number, Job[]>();
    for (const j of changed) {
      if (!this.state.jobs.has(j.push_id)) continue;
      let l = byPush.get(j.push_id);
      if (!l) byPush.set(j.push_id, (l = []));
      l.push(j);
    }
    this.noteModified(changed);
    if (!byPush.size) return;
    const next = new Map(this.state.jobs);
    for (const [pid, list] of byPush) {
      const cur = next.get(pid)!;
      const index = new Map(cur.map((j, i) => [j.id, i]));
      const copy = cur.slice();
      for (const j of list) {
        const i = index.get(j.id);
        if (i === undefined) copy.push(j);
        else copy[i] = j;
      }
      next.set(pid, copy);
    }
    this.set({ jobs: next });
  }

  /** One polling round: new pushes at the top, then jobs changed since the last round. */
  async poll(): Promise<void> {
    const { repo, pushes } = this.state;
    const signal = this.abort?.signal;
    // One round at a time: a slow server must not pile up requests.
    if (!repo || this.state.loading || !signal || this.polling) return;
    this.polling = true;
    try {
      const r = this.range;
      if (!r.tochange && !r.revision && !r.enddate && pushes.length) {
        const { fromchange: _f, ...rest } = r;
        void _f;
        const list = await getPushes(repo, { ...rest, full: 'true', push_timestamp__gte: pushes[0].push_timestamp, count: 50 }, { signal });
        if (signal.aborted) return;
        const seen = new Set(this.state.pushes.map((p) => p.id));
        const fresh = list.results.filter((p) => !seen.has(p.id));
        if (fresh.length) {
          this.set({ pushes: [...fresh, ...this.state.pushes].sort((a, b) => b.push_timestamp - a.push_timestamp || b.id - a.id) });
          await this.loadJobs(fresh.map((p) => p.id), signal);
        }
      }
      const ids = [...this.state.jobs.keys()];
      if (!ids.length) return;
      const params: Record<string, string> = { push_id__in: ids.join(',') };
      if (this.lastModified) params.last_modified__gt = isoMinus(this.lastModified, 3);
      const changed = await getJobs(params, { signal });
      if (!signal.aborted) this.applyJobs(changed);
      if (this.state.error) this.set({ error: null });
    } catch (e) {
      if (!signal.aborted) this.set({ error: `Live update failed: ${(e as Error).message}` });
    } finally {
      this.polling = false;
    }
  }

  /** Re-reads particular jobs (after classifying them). */
  async refreshJobs(ids: number[]): Promise<void> {
    if (!ids.length) return;
    const jobs = await getJobs({ id__in: ids.join(',') });
    this.applyJobs(jobs);
  }

  findJob(pred: (j: Job) => boolean): Job | undefined {
    for (const list of this.state.jobs.values()) {
      const j = list.find(pred);
      if (j) return j;
    }
    return undefined;
  }

  /** Stops loading; a later setRange starts afresh (React's StrictMode remounts). */
  dispose() {
    this.abort?.abort();
    this.abort = null;
    this.key = '';
  }
}
