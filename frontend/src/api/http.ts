// HTTP helpers: JSON reads with timeouts and clear errors, and writes that
// carry the user's credential.
//
// Credentials: herder issues API tokens (`herder tokens create`), sent as
// "Authorization: Bearer T". A deployment that signs users in with a session
// cookie instead (Treeherder's way) is served too: without a token, writes
// go with the cookie and the X-CSRFToken header read from the csrftoken
// cookie.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly url: string,
  ) {
    super(status ? `${status} ${detail} (${url})` : `${detail} (${url})`);
    this.name = 'ApiError';
  }
}

const TOKEN_KEY = 'herder.token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the token lives for this page only.
  }
  memoryToken = token;
}

let memoryToken: string | null = null;

function currentToken(): string | null {
  return getToken() ?? memoryToken;
}

function csrfToken(): string | null {
  if (typeof document === 'undefined') return null;
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

/** The headers a write (or an authenticated read) needs. */
export function authHeaders(): Record<string, string> {
  const h: Record<string, string> = {};
  const t = currentToken();
  if (t) h.Authorization = `Bearer ${t}`;
  else {
    const c = csrfToken();
    if (c) h['X-CSRFToken'] = c;
  }
  return h;
}

async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body === 'string') return body;
    if (body && typeof body === 'object') {
      for (const k of ['detail', 'message', 'failure', 'error']) {
        if (typeof body[k] === 'string') return body[k];
      }
      return JSON.stringify(body).slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || res.statusText;
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  auth?: boolean;
}

function withTimeout(signal: AbortSignal | undefined, ms: number): { signal: AbortSignal; done: () => void } {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException('timed out', 'TimeoutError')), ms);
  const onAbort = () => ctl.abort(signal?.reason);
  if (signal) {
    if (signal.aborted) ctl.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: ctl.signal,
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export async function request<T>(
  method: string,
  url: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const { signal, done } = withTimeout(opts.signal, opts.timeoutMs ?? 30_000);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' || opts.auth) Object.assign(headers, authHeaders());
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'same-origin',
    });
  } catch (e) {
    done();
    if ((e as Error)?.name === 'AbortError' && opts.signal?.aborted) throw e;
    const why = (e as Error)?.name === 'TimeoutError' || signal.aborted ? 'timed out' : 'network error';
    throw new ApiError(0, why, url);
  }
  try {
    if (!res.ok) throw new ApiError(res.status, await errorDetail(res), url);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  } finally {
    done();
  }
}

export const getJSON = <T>(url: string, opts?: RequestOptions) => request<T>('GET', url, undefined, opts);

/** Builds "path?k=v&k=v" from a record; arrays repeat the key; empty values are left out. */
export function withQuery(path: string, params: Record<string, string | number | boolean | undefined | null | (string | number)[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Turns the absolute `next` link of a page into a same-origin path. */
export function relativeLink(link: string): string {
  try {
    const u = new URL(link, window.location.origin);
    return u.pathname + u.search;
  } catch {
    return link;
  }
}
