// Who is signed in. Classification needs a signed-in user: either an API
// token pasted into the sign-in dialog (sent as a Bearer token) or a server
// session that /api/user/ reports.
import { useSyncExternalStore } from 'react';
import { getUser } from '../api/client';
import { getToken, setToken } from '../api/http';
import type { User } from '../api/types';

export interface AuthState {
  /** null until the first check finished. */
  user: User | null;
  signedIn: boolean;
  checked: boolean;
  /** Where the credential comes from. */
  via: 'token' | 'session' | null;
}

let state: AuthState = { user: null, signedIn: false, checked: false, via: null };
const listeners = new Set<() => void>();

function set(s: AuthState) {
  state = s;
  for (const l of listeners) l();
}

export function useAuth(): AuthState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

export function authState(): AuthState {
  return state;
}

/** Checks the stored token or session once at start. */
export async function checkAuth(): Promise<void> {
  const token = getToken();
  let user: User | null | undefined;
  try {
    user = await getUser();
  } catch {
    user = undefined; // the server is unreachable; keep the token
  }
  if (user) set({ user, signedIn: true, checked: true, via: token ? 'token' : 'session' });
  else if (user === null && token) {
    setToken(null); // refused: a revoked or expired token
    set({ user: null, signedIn: false, checked: true, via: null });
  } else set({ user: null, signedIn: !!token, checked: true, via: token ? 'token' : null });
}

/**
 * Signs in with an API token. A server that knows /api/user/ must accept the
 * token; one that does not (no such endpoint) gets the token on every write,
 * which it checks then.
 */
export async function signInWithToken(token: string): Promise<void> {
  const previous = getToken();
  setToken(token.trim());
  let user: User | null | undefined;
  try {
    user = await getUser();
  } catch (e) {
    setToken(previous);
    throw new Error(`Could not check the token: ${(e as Error).message}`);
  }
  if (user === null) {
    setToken(previous);
    throw new Error('The server refused this token.');
  }
  set({ user: user ?? null, signedIn: true, checked: true, via: 'token' });
}

export function signOut(): void {
  setToken(null);
  set({ user: null, signedIn: false, checked: true, via: null });
}

/** A write was refused for want of credentials: forget a stale token. */
export function credentialsRejected(): void {
  if (state.via === 'token') signOut();
}
