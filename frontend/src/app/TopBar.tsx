import { useEffect, useRef, useState, type ReactNode } from 'react';
import { getAuthMethods, ssoLoginURL, type AuthMethods } from '../api/client';
import type { Repository } from '../api/types';
import { signInWithToken, signOut, useAuth } from '../lib/auth';
import { onLinkClick } from '../lib/router';

/** The repository menu, grouped by repository group as Treeherder's. */
export function RepoMenu({ repos, current, hrefFor }: { repos: Repository[]; current: string; hrefFor: (name: string) => string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  const groups = new Map<string, Repository[]>();
  for (const r of repos) {
    if (r.active_status && r.active_status !== 'active') continue;
    const g = r.repository_group?.name ?? 'other';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(r);
  }
  for (const list of groups.values()) list.sort((a, b) => a.name.localeCompare(b.name));
  return (
    <div className="repo-menu" ref={ref}>
      <button type="button" className="topbar-button" aria-haspopup="true" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="repo-menu">
        {current} ▾
      </button>
      {open && (
        <div className="repo-dropdown" role="menu">
          {[...groups].map(([g, list]) => (
            <div key={g} className="repo-group">
              <div className="repo-group-name">{g}</div>
              {list.map((r) => (
                <a
                  key={r.name}
                  role="menuitem"
                  href={hrefFor(r.name)}
                  className={r.name === current ? 'current' : ''}
                  onClick={(e) => {
                    setOpen(false);
                    onLinkClick(e);
                  }}
                >
                  {r.name}
                </a>
              ))}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function SignInDialog({ onClose }: { onClose: () => void }) {
  const [token, setTokenText] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [methods, setMethods] = useState<AuthMethods | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    // Servers without /api/auth/ (or without OIDC) offer tokens only.
    getAuthMethods({ signal: ctl.signal }).then(setMethods, () => undefined);
    return () => ctl.abort();
  }, []);
  return (
    <div className="modal-backdrop" role="dialog" aria-modal="true" aria-label="Sign in" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <form
        className="modal"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setErr(null);
          try {
            await signInWithToken(token);
            onClose();
          } catch (x) {
            setErr((x as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h3>Sign in to classify</h3>
        {methods?.oidc && (
          <p>
            <a className="btn primary" data-testid="sso-sign-in" href={ssoLoginURL(methods, window.location.pathname + window.location.search)}>
              Sign in with SSO
            </a>
          </p>
        )}
        <p className="small">
          Paste an API token. An administrator makes one with <code>herder tokens create --user you@example.com --role sheriff</code>.
        </p>
        <input autoFocus type="password" aria-label="API token" placeholder="API token" value={token} onChange={(e) => setTokenText(e.target.value)} />
        {err && <div className="error">{err}</div>}
        <div className="modal-actions">
          <button type="submit" className="btn primary" disabled={busy || !token.trim()}>
            Sign in
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

export function UserMenu({ onSignIn }: { onSignIn: () => void }) {
  const auth = useAuth();
  if (!auth.signedIn)
    return (
      <button type="button" className="topbar-button" onClick={onSignIn} data-testid="sign-in">
        Sign in
      </button>
    );
  return (
    <span className="user">
      <span title={auth.via === 'token' ? 'signed in with an API token' : 'signed in'}>{auth.user?.email || auth.user?.username || 'signed in'}</span>{' '}
      {auth.via === 'token' && (
        <button type="button" className="topbar-button" onClick={signOut}>
          Sign out
        </button>
      )}
    </span>
  );
}

export function TopBar({ children, right }: { children?: ReactNode; right?: ReactNode }) {
  return (
    <nav className="topbar">
      <a className="brand" href="/jobs" onClick={onLinkClick}>
        herder
      </a>
      {children}
      <span className="spacer" />
      {right}
    </nav>
  );
}
