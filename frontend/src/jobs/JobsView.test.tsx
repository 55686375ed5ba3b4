import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { App } from '../app/App';
import { setToken } from '../api/http';
import { pinboard } from '../details/pinboard';
import { checkAuth } from '../lib/auth';
import { resetRefData } from '../lib/refdata';
import { CLASSIFICATIONS, job, jobsPage, mockFetch, push, REPOS, suggestion } from '../test/fixtures';

const P1 = push(1);
const JOBS = [
  job({ id: 1, job_type_symbol: 'B', job_type_name: 'build-linux64/opt' }),
  job({ id: 2, job_type_symbol: 'bc1', job_group_symbol: 'M', job_group_name: 'Mochitests', result: 'testfailed', task_id: 'TASKbc1' }),
  job({ id: 3, job_type_symbol: 'bc2', job_group_symbol: 'M', job_group_name: 'Mochitests' }),
  job({ id: 4, job_type_symbol: 'X1', job_group_symbol: 'X', result: 'busted', failure_classification_id: 4 }),
  job({ id: 5, job_type_symbol: 'R1', job_group_symbol: 'R', result: 'superseded' }),
  job({ id: 6, job_type_symbol: 'J1', tier: 3 }),
  job({ id: 7, job_type_symbol: 'B', platform: 'windows11-64', result: 'exception' }),
];

function api(extra: Record<string, unknown> = {}) {
  return mockFetch({
    '/api/repository/': REPOS,
    '/api/failureclassification/': CLASSIFICATIONS,
    '/api/project/autoland/push/': { meta: { count: 1, repository: 'autoland', filter_params: {} }, results: [P1] },
    '/api/jobs/': (url: URL) => (url.searchParams.get('push_id') === '1' ? jobsPage(JOBS) : jobsPage([])),
    '/api/project/autoland/jobs/2/': {
      ...JOBS[1],
      machine_name: 'linux-worker-7',
      submit_timestamp: 1_700_000_000,
      start_timestamp: 1_700_000_060,
      end_timestamp: 1_700_000_660,
      reason: 'scheduled',
      who: 'dev1@example.com',
      logs: [],
    },
    '/api/project/autoland/job-log-url/': [{ id: 11, job_id: 2, name: 'live_backing_log', url: 'https://tc.example.com/log', parse_status: 'parsed' }],
    '/api/project/autoland/jobs/2/text_log_errors/': [
      { id: 1, job: 2, line: 'TEST-UNEXPECTED-FAIL | browser_a.js | oops', line_number: 41, new_failure: false },
      { id: 2, job: 2, line: 'TEST-UNEXPECTED-TIMEOUT | browser_b.js | slow', line_number: 77, new_failure: true },
    ],
    '/api/project/autoland/jobs/2/bug_suggestions/': [
      suggestion(41, {
        search: 'TEST-UNEXPECTED-FAIL | browser_a.js | oops',
        counter: 12,
        bugs: {
          open_recent: [{ id: 1500001, internal_id: 1, status: 'NEW', resolution: '', summary: 'Intermittent browser_a.js | oops', dupe_of: null, crash_signature: '', keywords: '', whiteboard: '', occurrences: null }],
          all_others: [{ id: 1400001, internal_id: 2, status: 'RESOLVED', resolution: 'FIXED', summary: 'old browser_a.js bug', dupe_of: null, crash_signature: '', keywords: '', whiteboard: '', occurrences: null }],
        },
      }),
    ],
    '/api/project/autoland/note/': [],
    '/api/project/autoland/bug-job-map/': [],
    ...extra,
  });
}

function at(url: string) {
  window.history.replaceState(null, '', url);
}

beforeEach(() => {
  resetRefData();
  pinboard.clear();
});

describe('jobs view', () => {
  it('shows the push with author, revisions and job buttons grouped by platform', async () => {
    api();
    at('/jobs?repo=autoland');
    render(<App />);
    const pushEl = await screen.findByRole('region', { name: /push ffff|push 1fff/ });
    expect(within(pushEl).getByText('dev1@example.com')).toBeTruthy();
    expect(within(pushEl).getByText(P1.revision.slice(0, 12))).toBeTruthy();
    await within(pushEl).findByText('Linux x64');
    expect(within(pushEl).getByText('Windows 11 x64')).toBeTruthy();
    // failures shown with words as well as colour; classified ones starred
    expect(within(pushEl).getByRole('button', { name: 'bc1 test failed' })).toBeTruthy();
    expect(within(pushEl).getByRole('button', { name: 'X1 busted classified' }).textContent).toContain('★');
    // superseded and tier 3 hidden by default; successes in groups folded into counts
    expect(within(pushEl).queryByRole('button', { name: /^R1/ })).toBeNull();
    expect(within(pushEl).queryByRole('button', { name: /^J1/ })).toBeNull();
    expect(within(pushEl).getByTitle(/1 success job — click to expand/)).toBeTruthy();
    expect(within(pushEl).getByText(/2 failed/)).toBeTruthy();
    expect(screen.getByTestId('unclassified-toggle').textContent).toContain('2');
  });

  it('filters from the chicklets and the quick filter into the URL', async () => {
    api();
    at('/jobs?repo=autoland');
    render(<App />);
    await screen.findByRole('button', { name: 'bc1 test failed' });
    fireEvent.click(screen.getByRole('button', { name: 'superseded', pressed: false }));
    expect(window.location.search).toContain('resultStatus=');
    await screen.findByTitle(/1 superseded job — click to expand/);
    fireEvent.change(screen.getByRole('searchbox', { name: 'Quick filter' }), { target: { value: 'windows' } });
    expect(new URLSearchParams(window.location.search).get('searchStr')).toBe('windows');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'bc1 test failed' })).toBeNull());
    expect(screen.getByRole('button', { name: 'B exception' })).toBeTruthy();
  });

  it('restores filters and the selected job from the URL', async () => {
    api();
    at('/jobs?repo=autoland&tier=1%2C2%2C3&selectedTaskRun=TASKbc1.0');
    render(<App />);
    await screen.findByRole('button', { name: 'J1 success' });
    expect((await screen.findByRole('button', { name: 'bc1 test failed' })).className).toContain('selected');
    expect(await screen.findByTestId('details-panel')).toBeTruthy();
  });

  it('opens a failed job on its Failure Summary: error lines, open bugs first, NEW badge', async () => {
    api();
    at('/jobs?repo=autoland');
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'bc1 test failed' }));
    expect(window.location.search).toContain('selectedTaskRun=TASKbc1.0');
    const panel = await screen.findByTestId('details-panel');
    await within(panel).findByText('TEST-UNEXPECTED-FAIL | browser_a.js | oops');
    expect(within(panel).getByText('Intermittent browser_a.js | oops')).toBeTruthy();
    expect(within(panel).queryByText('old browser_a.js bug')).toBeNull();
    fireEvent.click(within(panel).getByRole('button', { name: 'Show 1 other bug' }));
    expect(within(panel).getByText('old browser_a.js bug')).toBeTruthy();
    expect(within(panel).getByText('NEW')).toBeTruthy();
    expect(within(panel).getByText(/seen 12×/)).toBeTruthy();
    // error lines count from 0, the log viewer from 1
    expect(within(panel).getByRole('link', { name: '42' }).getAttribute('href')).toBe('/logviewer?job_id=2&repo=autoland&lineNumber=42');
    expect(within(panel).getByText('linux-worker-7')).toBeTruthy();
    expect(within(panel).getByTestId('task-link').textContent).toBe('TASKbc1.0');
    expect(within(panel).getByText('parsed')).toBeTruthy();
  });

  it('triages from the keyboard: j selects the next unclassified failure, space pins, ctrl+enter saves', async () => {
    setToken('tok');
    const { calls } = api({ 'POST /api/project/autoland/note/': { message: 'note stored for job 2' } });
    await checkAuth();
    at('/jobs?repo=autoland');
    render(<App />);
    await screen.findByRole('button', { name: 'bc1 test failed' });
    fireEvent.keyDown(window, { key: 'j' });
    await waitFor(() => expect(window.location.search).toContain('selectedTaskRun=TASKbc1.0'));
    fireEvent.keyDown(window, { key: 'j' });
    await waitFor(() => expect(window.location.search).toContain('selectedTaskRun=task7.0'));
    fireEvent.keyDown(window, { key: 'k' });
    await waitFor(() => expect(window.location.search).toContain('selectedTaskRun=TASKbc1.0'));
    fireEvent.keyDown(window, { key: ' ' });
    const board = await screen.findByRole('generic', { name: 'Pinboard' });
    expect(within(board).getByRole('button', { name: 'unpin bc1' })).toBeTruthy();
    // c focuses the comment; typing there does not trigger shortcuts
    fireEvent.keyDown(window, { key: 'c' });
    const comment = within(board).getByRole('textbox', { name: 'Comment' });
    await waitFor(() => expect(document.activeElement).toBe(comment));
    fireEvent.keyDown(comment, { key: 'j' });
    expect(window.location.search).toContain('selectedTaskRun=TASKbc1.0');
    fireEvent.change(comment, { target: { value: 'flaky timeout' } });
    await act(async () => {
      fireEvent.keyDown(comment, { key: 'Enter', ctrlKey: true });
    });
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.body).toEqual({ job_id: 2, failure_classification_id: 4, text: 'flaky timeout' });
    expect(post.headers.authorization).toBe('Bearer tok');
    // the job is re-read after saving
    await waitFor(() => expect(calls.some((c) => c.url.searchParams.get('id__in') === '2')).toBe(true));
    setToken(null);
  });

  it('asks to sign in before saving without credentials', async () => {
    api();
    await checkAuth();
    at('/jobs?repo=autoland&selectedTaskRun=TASKbc1.0');
    render(<App />);
    await screen.findByTestId('details-panel');
    fireEvent.keyDown(window, { key: ' ' });
    const save = await screen.findByTestId('pinboard-save');
    expect(save.textContent).toBe('Sign in to save');
    fireEvent.click(save);
    expect(await screen.findByRole('dialog', { name: 'Sign in' })).toBeTruthy();
    fireEvent.keyDown(window, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('toggles unclassified-only with u and shows help with ?', async () => {
    api();
    at('/jobs?repo=autoland');
    render(<App />);
    await screen.findByRole('button', { name: 'bc1 test failed' });
    fireEvent.keyDown(window, { key: 'u' });
    await waitFor(() => expect(screen.queryByRole('button', { name: /^B success/ })).toBeNull());
    expect(screen.queryByRole('button', { name: 'X1 busted classified' })).toBeNull();
    expect(screen.getByTestId('unclassified-toggle').getAttribute('aria-pressed')).toBe('true');
    fireEvent.keyDown(window, { key: '?' });
    expect(await screen.findByRole('dialog', { name: 'Keyboard shortcuts' })).toBeTruthy();
  });

  it('lists repositories grouped by repository group', async () => {
    api();
    at('/jobs?repo=autoland');
    render(<App />);
    fireEvent.click(await screen.findByTestId('repo-menu'));
    const menu = screen.getByRole('menu');
    expect(within(menu).getByText('development')).toBeTruthy();
    expect(within(menu).getByText('release-stabilization')).toBeTruthy();
    fireEvent.click(within(menu).getByRole('menuitem', { name: 'try' }));
    expect(window.location.search).toBe('?repo=try');
  });
});
