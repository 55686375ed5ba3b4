// The log viewer: the raw log, virtualised, with error lines highlighted,
// error navigation, line-range permalinks and search. Treeherder's URL:
// /logviewer?job_id=&repo=&lineNumber=N|A-B (1-based, as displayed).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { getJobDetail, getJobLogs, getTextLogErrors } from '../api/client';
import type { JobLog } from '../api/types';
import { TopBar } from '../app/TopBar';
import { displayStatus, STATUS_LABEL } from '../jobs/status';
import { isTyping } from '../jobs/keyboard';
import { navigate, onLinkClick } from '../lib/router';
import { useAsync } from '../lib/useAsync';
import { LogBuffer, readInto } from './logBuffer';
import { mainLog, rawLogProxyUrl } from './links';

export const LINE_HEIGHT = 18;
/** Browsers cap element heights (Firefox near 17.9 M px); beyond this the scrollbar is scaled. */
const MAX_SCROLL_PX = 8_000_000;
const OVERSCAN = 30;
/** Longest part of a line rendered; the rest is summarised. */
const MAX_RENDERED_CHARS = 20_000;
/** The most bytes the viewer downloads. */
const MAX_LOG_BYTES = 1 << 30;

let proxyMissing = false;

/** Opens the raw log: herder's same-origin proxy when it has one, else the log's own URL. */
async function openLog(repo: string, log: JobLog, signal: AbortSignal): Promise<{ res: Response; via: 'proxy' | 'direct' }> {
  if (!proxyMissing) {
    const res = await fetch(rawLogProxyUrl(repo, log), { signal });
    if (res.ok) return { res, via: 'proxy' };
    // 403: the proxy may not reach this log's host, but the browser may.
    if (res.status !== 403) {
      if (![404, 405, 501].includes(res.status)) throw new Error(`the log proxy answered ${res.status}`);
      proxyMissing = true;
    }
  }
  const res = await fetch(log.url, { signal });
  if (!res.ok) throw new Error(`${res.status} fetching ${log.url}`);
  return { res, via: 'direct' };
}

export function parseLineRange(v: string | null): [number, number] | null {
  if (!v) return null;
  const m = v.match(/^(\d+)(?:-(\d+))?$/);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a < 1 || b < 1) return null;
  return a <= b ? [a, b] : [b, a];
}

function Highlighted({ text, query }: { text: string; query: string }) {
  if (!query) return <>{text}</>;
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  const parts: React.ReactNode[] = [];
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
    if (i > at) parts.push(text.slice(at, i));
    parts.push(<mark key={i}>{text.slice(i, i + q.length)}</mark>);
    at = i + q.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <>{parts}</>;
}

export default function LogViewer({ search }: { search: string }) {
  const q = useMemo(() => new URLSearchParams(search), [search]);
  const repo = q.get('repo') ?? '';
  const jobId = Number(q.get('job_id'));
  const range = parseLineRange(q.get('lineNumber'));
  const valid = !!repo && jobId > 0;

  const job = useAsync(valid ? (signal) => getJobDetail(repo, jobId, { signal }) : null, [repo, jobId]);
  const logs = useAsync(valid ? (signal) => getJobLogs(repo, [jobId], { signal }) : null, [repo, jobId]);
  const errors = useAsync(valid ? (signal) => getTextLogErrors(repo, jobId, { signal }) : null, [repo, jobId]);
  const log = logs.data ? mainLog(logs.data) : undefined;

  const [buf, setBuf] = useState<LogBuffer | null>(null);
  const [, setTick] = useState(0);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [via, setVia] = useState<string>('');

  useEffect(() => {
    if (!log) return;
    if (q.get('raw')) {
      window.location.replace(log.url);
      return;
    }
    const ctl = new AbortController();
    setLoadError(null);
    (async () => {
      try {
        const { res, via } = await openLog(repo, log, ctl.signal);
        setVia(via);
        const hint = Number(res.headers.get('content-length')) || 1 << 20;
        const b = new LogBuffer(hint + 1, MAX_LOG_BYTES);
        setBuf(b);
        if (!res.body) throw new Error('the log response has no body');
        await readInto(res.body, b, () => setTick((t) => t + 1), ctl.signal);
        performance.mark('herder:log-loaded');
      } catch (e) {
        if (!ctl.signal.aborted) setLoadError((e as Error).message);
      }
    })();
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [log?.id, log?.url, repo]);

  const errorLines = useMemo(() => (errors.data ?? []).map((e) => e.line_number).sort((a, b) => a - b), [errors.data]);
  const errorSet = useMemo(() => new Set(errorLines), [errorLines]);

  // Scroll state for the virtual list.
  const scrollRef = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  const lineCount = buf?.lineCount ?? 0;
  const totalPx = lineCount * LINE_HEIGHT;
  const scaled = totalPx > MAX_SCROLL_PX;
  const spacer = scaled ? MAX_SCROLL_PX : totalPx;
  const visible = Math.ceil(viewH / LINE_HEIGHT);
  // With a scaled scrollbar the bottom position shows the last line whole.
  const maxFirst = Math.max(0, lineCount - Math.floor(viewH / LINE_HEIGHT));

  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || 600));
    ro.observe(el);
    setViewH(el.clientHeight || 600);
    return () => ro.disconnect();
  }, [buf]);

  let first: number;
  let offsetY: number;
  if (!scaled) {
    first = Math.floor(scrollTop / LINE_HEIGHT);
    offsetY = first * LINE_HEIGHT;
  } else {
    const ratio = Math.min(1, scrollTop / Math.max(1, spacer - viewH));
    first = Math.round(ratio * maxFirst);
    offsetY = scrollTop;
  }
  const from = Math.max(0, first - (scaled ? 0 : OVERSCAN));
  const to = Math.min(lineCount, first + visible + OVERSCAN);

  // Scrolling uses the line count this render laid out, which the spacer's
  // height matches; the buffer itself may already hold more lines.
  const rendered = useRef(0);
  rendered.current = lineCount;
  const scrollToLine = useCallback(
    (i: number) => {
      const el = scrollRef.current;
      if (!el) return;
      const n = rendered.current;
      const target = Math.max(0, Math.min(i, n - 1) - Math.floor(visible / 3));
      const last = Math.max(1, n - Math.floor(el.clientHeight / LINE_HEIGHT));
      const top = n * LINE_HEIGHT > MAX_SCROLL_PX ? (Math.min(target, last) / last) * (MAX_SCROLL_PX - el.clientHeight) : target * LINE_HEIGHT;
      el.scrollTop = top;
      setScrollTop(el.scrollTop);
    },
    [visible],
  );

  // First scroll: the permalinked line, else the first error line, once the
  // log has that many lines.
  const initialScroll = useRef(false);
  useEffect(() => {
    if (initialScroll.current || !buf) return;
    const target = range ? range[0] - 1 : errorLines.length ? errorLines[0] : -1;
    if (target < 0) {
      if (errors.data) initialScroll.current = true;
      return;
    }
    if (lineCount > target || (buf.finished && lineCount === buf.lineCount)) {
      initialScroll.current = true;
      scrollToLine(target);
    }
  });

  const setRange = (r: [number, number] | null) => {
    const n = new URLSearchParams(search);
    if (r) n.set('lineNumber', r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`);
    else n.delete('lineNumber');
    navigate(`/logviewer?${n}`, { replace: true });
  };

  // Search.
  const [query, setQuery] = useState(q.get('search') ?? '');
  const [matches, setMatches] = useState<number[]>([]);
  const [matchIdx, setMatchIdx] = useState(-1);
  const searchRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!buf || !query) {
      setMatches([]);
      setMatchIdx(-1);
      return;
    }
    const t = setTimeout(() => {
      const m = buf.search(query);
      setMatches(m);
      setMatchIdx((i) => (m.length ? Math.min(Math.max(i, 0), m.length - 1) : -1));
    }, 200);
    return () => clearTimeout(t);
  }, [buf, query, buf?.finished]);

  const gotoMatch = (step: 1 | -1) => {
    if (!matches.length) return;
    const i = (matchIdx + step + matches.length) % matches.length;
    setMatchIdx(i);
    scrollToLine(matches[i]);
  };

  // n/p move to the next/previous error line after/before the selected line
  // (else the top of the screen), wrapping around.
  const firstRef = useRef(0);
  firstRef.current = first;
  const gotoError = useCallback(
    (step: 1 | -1) => {
      if (!errorLines.length) return;
      const cur = range ? range[0] - 1 : step === 1 ? firstRef.current - 1 : firstRef.current + visible;
      let target: number | undefined;
      if (step === 1) target = errorLines.find((l) => l > cur) ?? errorLines[0];
      else target = [...errorLines].reverse().find((l) => l < cur) ?? errorLines[errorLines.length - 1];
      scrollToLine(target);
      setRange([target + 1, target + 1]);
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [errorLines, scrollToLine, search, visible],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && document.activeElement === searchRef.current) {
        searchRef.current?.blur();
        return;
      }
      if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'n' || e.key === 'j') gotoError(1);
      else if (e.key === 'p' || e.key === 'k') gotoError(-1);
      else if (e.key === 'f' || e.key === '/') {
        e.preventDefault();
        searchRef.current?.focus();
      } else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [gotoError]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (el) setScrollTop(el.scrollTop);
  };

  const onLineNumberClick = (e: React.MouseEvent, line1: number) => {
    e.preventDefault();
    if (e.shiftKey && range) setRange([Math.min(range[0], line1), Math.max(range[1], line1)]);
    else if (range && range[0] === line1 && range[1] === line1) setRange(null);
    else setRange([line1, line1]);
  };

  const rows: React.ReactNode[] = [];
  const permalinkBase = useMemo(() => {
    const n = new URLSearchParams(search);
    n.delete('lineNumber');
    return `?${n}&lineNumber=`;
  }, [search]);
  if (buf) {
    const matchSet = matches.length ? new Set(matches) : null;
    for (let i = from; i < to; i++) {
      let text = buf.line(i);
      let more = 0;
      if (text.length > MAX_RENDERED_CHARS) {
        more = text.length - MAX_RENDERED_CHARS;
        text = text.slice(0, MAX_RENDERED_CHARS);
      }
      const n1 = i + 1;
      const inRange = range && n1 >= range[0] && n1 <= range[1];
      const cls = `log-line${errorSet.has(i) ? ' error-line' : ''}${inRange ? ' selected' : ''}${matchSet?.has(i) ? ' match' : ''}${matches[matchIdx] === i ? ' current-match' : ''}`;
      rows.push(
        <div key={i} className={cls} data-line={n1}>
          <a className="ln" href={permalinkBase + n1} onClick={(e) => onLineNumberClick(e, n1)}>
            {n1}
          </a>
          <span className="text">
            <Highlighted text={text} query={matchSet?.has(i) ? query : ''} />
            {more > 0 && <span className="muted"> …({more} more characters)</span>}
          </span>
        </div>,
      );
    }
  }

  const j = job.data;
  const st = j ? displayStatus(j) : 'unknown';
  const mb = buf ? (buf.byteLength / 1e6).toFixed(1) : '0';
  return (
    <div className="app logviewer">
      <TopBar>
        {j && (
          <span className="lv-title">
            <span className={`job st-${st}`}>{j.job_type_symbol}</span> <strong>{STATUS_LABEL[st]}</strong> {j.job_type_name}{' '}
            <a href={`/jobs?repo=${encodeURIComponent(repo)}&selectedTaskRun=${j.task_id ?? ''}.${j.retry_id ?? 0}`} onClick={onLinkClick}>
              jobs view
            </a>
          </span>
        )}
      </TopBar>
      {!valid && <div className="notice error">The log viewer needs job_id and repo in its URL.</div>}
      <div className="lv-toolbar">
        <form
          className="lv-search"
          onSubmit={(e) => {
            e.preventDefault();
            gotoMatch(1);
          }}
        >
          <input
            ref={searchRef}
            type="search"
            placeholder="Search the log (f)"
            aria-label="Search the log"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && e.shiftKey) {
                e.preventDefault();
                gotoMatch(-1);
              }
            }}
          />
          <span className="muted small" data-testid="match-count">
            {query ? `${matches.length ? matchIdx + 1 : 0} of ${matches.length}${matches.length >= 10_000 ? '+' : ''}` : ''}
          </span>
        </form>
        <span className="lv-errors-nav">
          <button type="button" className="btn-small" onClick={() => gotoError(-1)} disabled={!errorLines.length} title="Previous error (p)">
            ◀ error
          </button>
          <span className="small" data-testid="error-count">
            {errorLines.length} error line{errorLines.length === 1 ? '' : 's'}
          </span>
          <button type="button" className="btn-small" onClick={() => gotoError(1)} disabled={!errorLines.length} title="Next error (n)">
            error ▶
          </button>
        </span>
        <span className="muted small lv-status" data-testid="log-status">
          {loadError
            ? ''
            : !buf
              ? logs.data && !log
                ? 'This job has no log.'
                : 'Opening the log…'
              : `${lineCount.toLocaleString()} lines, ${mb} MB${buf.finished ? '' : ' (loading…)'}`}
          {via === 'direct' && buf && <span title="herder has no raw-log proxy; the browser fetched the log from its host"> · direct</span>}
        </span>
        {log && (
          <a className="btn-small" href={log.url} target="_blank" rel="noreferrer">
            raw log
          </a>
        )}
      </div>
      {loadError && <div className="notice error">Could not load the log: {loadError}</div>}
      <div className="lv-body">
        {errorLines.length > 0 && (
          <aside className="lv-sidebar" aria-label="Error lines">
            {(errors.data ?? []).map((e) => (
              <button
                type="button"
                key={e.id}
                className={`lv-error${range && range[0] === e.line_number + 1 ? ' on' : ''}`}
                onClick={() => {
                  scrollToLine(e.line_number);
                  setRange([e.line_number + 1, e.line_number + 1]);
                }}
                title={e.line}
              >
                <span className="ln">{e.line_number + 1}</span> {e.line}
              </button>
            ))}
          </aside>
        )}
        <div className="log-scroll" ref={scrollRef} onScroll={onScroll} data-testid="log-scroll">
          <div className="log-spacer" style={{ height: spacer }}>
            <div className="log-window" style={{ transform: `translateY(${scaled ? offsetY : from * LINE_HEIGHT}px)` }}>
              {rows}
            </div>
          </div>
        </div>
      </div>
    </div>
  );
}
