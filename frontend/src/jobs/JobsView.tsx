import { useCallback, useDeferredValue, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { getJobs } from '../api/client';
import type { Job } from '../api/types';
import { HelpOverlay } from '../app/Help';
import { RepoMenu, SignInDialog, TopBar, UserMenu } from '../app/TopBar';
import { DetailsPanel, TABS, type Tab } from '../details/DetailsPanel';
import { Pinboard } from '../details/Pinboard';
import { deleteClassification, pinboard, usePinboard } from '../details/pinboard';
import { credentialsRejected, useAuth } from '../lib/auth';
import { navigate, onLinkClick } from '../lib/router';
import { useClassifications, useRepositories } from '../lib/refdata';
import { logViewerUrl } from '../logviewer/links';
import { FilterBar } from './FilterBar';
import { compileFilter, formatJobsUrl, parseJobsUrl, RANGE_PARAMS, taskRun, toggleUnclassifiedOnly, type JobsUrlState } from './filters';
import { platformName } from './grouping';
import { isUnclassifiedFailureButton, keyAction, neighbour, type Action } from './keyboard';
import { MAX_PUSHES, PushStore } from './pushStore';
import { PushView } from './PushView';
import { isFailure, isUnclassifiedFailure } from './status';
import { ApiError } from '../api/http';

/** Live updates: Treeherder polls every 60 s; herder every 30 s (localStorage herder.pollMs overrides, for tests). */
function pollInterval(): number {
  try {
    const v = Number(localStorage.getItem('herder.pollMs'));
    if (v >= 200) return v;
  } catch {
    // no storage
  }
  return 30_000;
}

const labelOf = (j: Job) => platformName(j.platform);

function findSelected(jobs: Map<number, Job[]>, s: JobsUrlState): Job | undefined {
  if (!s.selectedTaskRun && !s.selectedJob) return undefined;
  const [task, run] = s.selectedTaskRun ? [s.selectedTaskRun.replace(/\.\d+$/, ''), Number(s.selectedTaskRun.match(/\.(\d+)$/)?.[1] ?? 0)] : ['', 0];
  for (const list of jobs.values()) {
    for (const j of list) {
      if (s.selectedTaskRun ? j.task_id === task && (j.retry_id ?? 0) === run : j.id === s.selectedJob) return j;
    }
  }
  return undefined;
}

export default function JobsView({ search }: { search: string }) {
  const state = useMemo(() => parseJobsUrl(search), [search]);
  const update = useCallback((s: JobsUrlState, replace = true) => navigate('/jobs' + formatJobsUrl(s), { replace }), []);
  const stateRef = useRef(state);
  stateRef.current = state;

  const store = useMemo(() => new PushStore(), []);
  useEffect(() => () => store.dispose(), [store]);
  const data = useSyncExternalStore(store.subscribe, store.getState);
  const rangeKey = JSON.stringify([state.repo, ...RANGE_PARAMS.map((k) => state.range[k])]);
  useEffect(() => {
    performance.mark('herder:range-load');
    void store.setRange(state.repo, state.range);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, rangeKey]);

  // Live updates.
  useEffect(() => {
    const tick = () => {
      if (document.visibilityState !== 'hidden') void store.poll();
    };
    const id = window.setInterval(tick, pollInterval());
    const onVis = () => document.visibilityState === 'visible' && tick();
    document.addEventListener('visibilitychange', onVis);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, [store]);

  const [repos] = useRepositories();
  const [classifications] = useClassifications();
  const repository = repos.find((r) => r.name === state.repo);
  const auth = useAuth();
  const pb = usePinboard();

  // Filtering runs on a deferred copy so typing in the quick filter stays responsive.
  const deferred = useDeferredValue(state);
  const filterKey = JSON.stringify([deferred.resultStatus, deferred.classifiedState, deferred.tier, deferred.searchStr, deferred.fields]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const filter = useMemo(() => compileFilter(deferred, labelOf), [filterKey]);

  const selected = useMemo(() => findSelected(data.jobs, state), [data.jobs, state]);
  const [tab, setTab] = useState<Tab>('failure');
  const [expandedGroups, setExpandedGroups] = useState<ReadonlySet<string>>(new Set());
  const [help, setHelp] = useState(false);
  const [signIn, setSignIn] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const quickFilterRef = useRef<HTMLInputElement>(null);
  const bugInputRef = useRef<HTMLInputElement>(null);
  const commentRef = useRef<HTMLTextAreaElement>(null);
  const saveRef = useRef<(() => void) | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  // A permalink to a job outside the loaded pushes: find its push and show that.
  const allLoaded = !data.loading && data.pushes.every((p) => data.jobs.has(p.id));
  useEffect(() => {
    if (!allLoaded || selected || (!state.selectedTaskRun && !state.selectedJob)) return;
    let live = true;
    const params: Record<string, string | number> = state.selectedTaskRun
      ? { task_id: state.selectedTaskRun.replace(/\.\d+$/, ''), retry_id: Number(state.selectedTaskRun.match(/\.(\d+)$/)?.[1] ?? 0) }
      : { id: state.selectedJob! };
    getJobs(params)
      .then(([job]) => {
        if (!live) return;
        if (!job) {
          setNotice('The selected job was not found.');
          return;
        }
        if (state.range.revision === job.push_revision) return;
        update({ ...stateRef.current, range: { revision: job.push_revision }, selectedTaskRun: taskRun(job), selectedJob: taskRun(job) ? undefined : job.id });
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [allLoaded, selected, state.selectedTaskRun, state.selectedJob, state.range.revision, update]);

  // Performance marks: the e2e suite reads these (docs/ui.md).
  const marked = useRef('');
  useEffect(() => {
    if (!allLoaded || !data.pushes.length || marked.current === rangeKey) return;
    marked.current = rangeKey;
    requestAnimationFrame(() => {
      performance.mark('herder:jobs-interactive');
      try {
        performance.measure('herder:range-to-interactive', 'herder:range-load', 'herder:jobs-interactive');
      } catch {
        // the start mark may be missing in tests
      }
    });
  }, [allLoaded, data.pushes.length, rangeKey]);

  const counts = useMemo(() => {
    let total = 0;
    let filtered = 0;
    const tiers = new Set(state.tier);
    for (const list of data.jobs.values()) {
      for (const j of list) {
        if (!tiers.has(j.tier) || !isUnclassifiedFailure(j)) continue;
        total++;
        if (filter(j)) filtered++;
      }
    }
    return { total, filtered };
  }, [data.jobs, filter, state.tier]);

  useEffect(() => {
    document.title = `${counts.total ? `[${counts.total}] ` : ''}${state.repo} – herder`;
  }, [counts.total, state.repo]);

  const jobById = useCallback(
    (id: number) => {
      for (const list of store.getState().jobs.values()) {
        const j = list.find((x) => x.id === id);
        if (j) return j;
      }
      return undefined;
    },
    [store],
  );

  const select = useCallback(
    (job: Job | undefined, scroll = false) => {
      const s = stateRef.current;
      if (!job) {
        update({ ...s, selectedTaskRun: undefined, selectedJob: undefined });
        return;
      }
      const tr = taskRun(job);
      update({ ...s, selectedTaskRun: tr, selectedJob: tr ? undefined : job.id });
      if (isFailure(job)) setTab('failure');
      if (scroll) {
        requestAnimationFrame(() => {
          listRef.current?.querySelector(`[data-job-id="${job.id}"]`)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        });
      }
    },
    [update],
  );

  const onChanged = useCallback(
    (ids: number[]) => {
      void store.refreshJobs(ids);
    },
    [store],
  );

  // Clicks on job buttons, group counts and push controls, by delegation.
  const onListClick = (e: React.MouseEvent) => {
    const t = e.target as HTMLElement;
    const jobEl = t.closest<HTMLElement>('[data-job-id]');
    if (jobEl) {
      const job = jobById(Number(jobEl.dataset.jobId));
      if (!job) return;
      if (e.ctrlKey || e.metaKey) pinboard.toggle(job);
      else select(job);
      return;
    }
    const groupEl = t.closest<HTMLElement>('[data-group-toggle]');
    if (groupEl) {
      const k = groupEl.dataset.groupToggle!;
      setExpandedGroups((prev) => {
        const n = new Set(prev);
        if (n.has(k)) n.delete(k);
        else n.add(k);
        return n;
      });
      return;
    }
    const pushToggle = t.closest<HTMLElement>('[data-push-toggle]');
    if (pushToggle) {
      const id = Number(pushToggle.dataset.pushToggle);
      const s = stateRef.current;
      const has = s.collapsedPushes.includes(id);
      update({ ...s, collapsedPushes: has ? s.collapsedPushes.filter((x) => x !== id) : [...s.collapsedPushes, id] });
      return;
    }
    const pushPin = t.closest<HTMLElement>('[data-push-pin]');
    if (pushPin) {
      const jobs = store.getState().jobs.get(Number(pushPin.dataset.pushPin)) ?? [];
      pinboard.pinMany(jobs.filter((j) => isUnclassifiedFailure(j) && filter(j)));
    }
  };

  const loadMore = async (n: number) => {
    const rev = await store.loadMore(n);
    if (rev) update({ ...stateRef.current, range: { ...stateRef.current.range, fromchange: rev } });
  };

  // Keyboard triage.
  useEffect(() => {
    const buttons = () => Array.from(listRef.current?.querySelectorAll<HTMLElement>('.job[data-job-id]') ?? []);
    const move = (step: 1 | -1, pick: (b: HTMLElement) => boolean) => {
      const cur = findSelected(store.getState().jobs, stateRef.current);
      const next = neighbour(buttons(), cur?.id ?? -1, step, pick);
      if (next) select(jobById(Number(next.dataset.jobId)), true);
    };
    const selectedJob = () => findSelected(store.getState().jobs, stateRef.current);
    const handlers: Record<Action, () => void> = {
      nextUnclassified: () => move(1, isUnclassifiedFailureButton),
      prevUnclassified: () => move(-1, isUnclassifiedFailureButton),
      nextJob: () => move(1, () => true),
      prevJob: () => move(-1, () => true),
      togglePin: () => {
        const j = selectedJob();
        if (j) pinboard.toggle(j);
      },
      pinAndBug: () => {
        const j = selectedJob();
        if (j) pinboard.pin(j);
        requestAnimationFrame(() => bugInputRef.current?.focus());
      },
      pinAndComment: () => {
        const j = selectedJob();
        if (j) pinboard.pin(j);
        requestAnimationFrame(() => commentRef.current?.focus());
      },
      save: () => saveRef.current?.(),
      deleteClassification: () => {
        const j = selectedJob();
        if (!j) return;
        if (!auth.signedIn) {
          setSignIn(true);
          return;
        }
        deleteClassification(stateRef.current.repo, j.id)
          .then(() => {
            setNotice(`Deleted the classification of ${j.job_type_symbol}.`);
            onChanged([j.id]);
          })
          .catch((e) => {
            if (e instanceof ApiError && e.status === 401) credentialsRejected();
            setNotice(`Could not delete the classification: ${(e as Error).message}`);
          });
      },
      toggleUnclassifiedOnly: () => update(toggleUnclassifiedOnly(stateRef.current)),
      toggleInProgress: () => {
        const s = stateRef.current;
        const on = s.resultStatus.includes('pending') || s.resultStatus.includes('running');
        const rest = s.resultStatus.filter((x) => x !== 'pending' && x !== 'running');
        update({ ...s, resultStatus: on ? rest : [...rest, 'pending', 'running'] });
      },
      toggleUnscheduled: () => {
        const s = stateRef.current;
        const on = s.resultStatus.includes('unscheduled');
        update({ ...s, resultStatus: on ? s.resultStatus.filter((x) => x !== 'unscheduled') : [...s.resultStatus, 'unscheduled'] });
      },
      focusFilter: () => requestAnimationFrame(() => quickFilterRef.current?.focus()),
      clearFilter: () => update({ ...stateRef.current, searchStr: '' }),
      openLog: () => {
        const j = selectedJob();
        if (j) window.open(logViewerUrl(stateRef.current.repo, j.id), '_blank');
      },
      openRawLog: () => {
        const j = selectedJob();
        if (j) window.open(`${logViewerUrl(stateRef.current.repo, j.id)}&raw=1`, '_blank');
      },
      nextTab: () => setTab((t) => TABS[(TABS.indexOf(t) + 1) % TABS.length]),
      help: () => setHelp((h) => !h),
      escape: () => {
        if (help || signIn) {
          setHelp(false);
          setSignIn(false);
          return;
        }
        const a = document.activeElement as HTMLElement | null;
        if (a && a !== document.body && a.closest('.pinboard, .filter-bar')) {
          a.blur();
          return;
        }
        select(undefined);
      },
      clearPinboard: () => pinboard.clear(),
    };
    const onKey = (e: KeyboardEvent) => {
      const action = keyAction(e);
      if (!action) return;
      // Dialogs take only esc.
      if ((help || signIn) && action !== 'escape' && action !== 'help') return;
      e.preventDefault();
      handlers[action]();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, select, jobById, update, onChanged, help, signIn, auth.signedIn]);

  const linkQuery = useMemo(() => {
    const s = formatJobsUrl({ ...state, range: {}, selectedTaskRun: undefined, selectedJob: undefined, collapsedPushes: [] });
    return s.replace(/^\?repo=[^&]*/, '');
  }, [state]);

  const panelOpen = !!selected || pb.jobs.size > 0;
  const [panelHeight, setPanelHeight] = useState(() => Number(localStorage.getItem('herder.panelHeight')) || 40);
  const startResize = (e: React.MouseEvent) => {
    e.preventDefault();
    const onMove = (m: MouseEvent) => {
      const pct = Math.min(85, Math.max(15, ((window.innerHeight - m.clientY) / window.innerHeight) * 100));
      setPanelHeight(pct);
    };
    const onUp = () => {
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
      setPanelHeight((h) => {
        localStorage.setItem('herder.panelHeight', String(Math.round(h)));
        return h;
      });
    };
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
  };

  const collapsed = useMemo(() => new Set(state.collapsedPushes), [state.collapsedPushes]);
  const pinnedIds = useMemo(() => new Set(pb.jobs.keys()), [pb.jobs]);

  return (
    <div className="app jobs-app">
      <TopBar
        right={
          <>
            <a className="topbar-link" href={`/intermittent-failures?tree=${encodeURIComponent(state.repo)}`} onClick={onLinkClick}>
              Intermittent failures
            </a>
            <button type="button" className="topbar-button" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
              ?
            </button>
            <UserMenu onSignIn={() => setSignIn(true)} />
          </>
        }
      >
        <RepoMenu repos={repos} current={state.repo} hrefFor={(name) => `/jobs?repo=${encodeURIComponent(name)}`} />
      </TopBar>
      <FilterBar state={state} onChange={(s) => update(s, JSON.stringify(s.range) === JSON.stringify(state.range))} unclassified={counts} quickFilterRef={quickFilterRef} />
      {notice && (
        <div className="notice" role="status">
          {notice}{' '}
          <button type="button" className="link-button" onClick={() => setNotice(null)}>
            dismiss
          </button>
        </div>
      )}
      {data.error && (
        <div className="notice error" role="alert">
          {data.error}
        </div>
      )}
      <div className="split" style={{ ['--panel-height' as string]: panelOpen ? `${panelHeight}vh` : '0px' }}>
        <div className="push-list" ref={listRef} onClick={onListClick} data-testid="push-list">
          {data.loading && <div className="loading">Loading pushes…</div>}
          {!data.loading && !data.error && data.pushes.length === 0 && <div className="muted empty">No pushes found for {state.repo} with these parameters.</div>}
          {data.pushes.map((p) => (
            <PushView
              key={p.id}
              push={p}
              repo={repository}
              repoName={state.repo}
              jobs={data.jobs.get(p.id)}
              filter={filter}
              selectedId={selected && selected.push_id === p.id ? selected.id : 0}
              pinned={pinnedIds}
              expanded={state.groupState === 'expanded'}
              expandedGroups={expandedGroups}
              collapsed={collapsed.has(p.id)}
              linkQuery={linkQuery}
            />
          ))}
          {data.pushes.length > 0 && (
            <div className="load-more">
              {data.loadingMore ? (
                <span className="muted">loading…</span>
              ) : data.pushes.length >= MAX_PUSHES ? (
                <span className="muted">Showing the most pushes the view holds ({MAX_PUSHES}).</span>
              ) : (
                <>
                  get next:{' '}
                  {[10, 20, 50].map((n) => (
                    <button key={n} type="button" className="btn-small" onClick={() => void loadMore(n)}>
                      {n}
                    </button>
                  ))}
                </>
              )}
            </div>
          )}
        </div>
        {panelOpen && (
          <div className="bottom-panel">
            <div className="resize-handle" onMouseDown={startResize} title="Drag to resize" />
            <Pinboard
              repo={state.repo}
              repository={repository}
              classifications={classifications}
              onSaved={onChanged}
              onSelectJob={(id) => select(jobById(id) ?? pb.jobs.get(id), true)}
              requestSignIn={() => setSignIn(true)}
              saveRef={saveRef}
              bugInputRef={bugInputRef}
              commentRef={commentRef}
            />
            {selected && (
              <DetailsPanel
                repo={state.repo}
                repository={repository}
                job={selected}
                tab={tab}
                setTab={setTab}
                classifications={classifications}
                onClose={() => select(undefined)}
                onChanged={onChanged}
              />
            )}
          </div>
        )}
      </div>
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
      {signIn && <SignInDialog onClose={() => setSignIn(false)} />}
    </div>
  );
}
