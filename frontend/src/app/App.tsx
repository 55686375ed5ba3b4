import { lazy, Suspense, useEffect } from 'react';
import JobsView from '../jobs/JobsView';
import { navigate, useLocation } from '../lib/router';

// The jobs view is the first screen and ships in the main bundle; the log
// viewer and the intermittent failures view load on demand.
const LogViewer = lazy(() => import('../logviewer/LogViewer'));
const Intermittents = lazy(() => import('../intermittents/IntermittentsView'));

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export function App() {
  const { pathname, search } = useLocation();
  const path = pathname.replace(/\/+$/, '') || '/';
  let page;
  if (path === '/' || path === '/jobs') {
    // Treeherder's old hash URLs (#/jobs?repo=...) still arrive.
    const hash = typeof window !== 'undefined' ? window.location.hash : '';
    if (path === '/' && hash.startsWith('#/jobs')) page = <Redirect to={hash.slice(1)} />;
    else page = <JobsView search={search} />;
  } else if (path === '/logviewer') page = <LogViewer search={search} />;
  else if (path.startsWith('/intermittent-failures')) page = <Intermittents pathname={path} search={search} />;
  else
    page = (
      <div className="app">
        <div className="empty">
          Nothing here. <a href="/jobs">Go to the jobs view.</a>
        </div>
      </div>
    );
  return <Suspense fallback={<div className="loading">Loading…</div>}>{page}</Suspense>;
}
