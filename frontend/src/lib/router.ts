// A small history router: the app has four pages, so it does not need a
// routing library. The location is an external store React subscribes to.
import { useSyncExternalStore } from 'react';

type Listener = () => void;
const listeners = new Set<Listener>();

function notify() {
  for (const l of listeners) l();
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', notify);
}

function subscribe(l: Listener) {
  listeners.add(l);
  return () => listeners.delete(l);
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const loc = useSyncExternalStore(subscribe, snapshot, snapshot);
  const i = loc.indexOf('?');
  return i < 0 ? { pathname: loc, search: '' } : { pathname: loc.slice(0, i), search: loc.slice(i) };
}

/** Navigates within the app; replace keeps the history entry (filter tweaks, selection). */
export function navigate(url: string, opts: { replace?: boolean } = {}) {
  const next = new URL(url, window.location.href);
  const cur = window.location.pathname + window.location.search + window.location.hash;
  const target = next.pathname + next.search + next.hash;
  if (target === cur) return;
  if (opts.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  notify();
}

/** Link click handler that keeps modified clicks (new tab) native. */
export function onLinkClick(e: React.MouseEvent<HTMLAnchorElement>) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = e.currentTarget.getAttribute('href');
  if (!href || e.currentTarget.target === '_blank' || /^[a-z]+:/i.test(href)) return;
  e.preventDefault();
  navigate(href);
}
