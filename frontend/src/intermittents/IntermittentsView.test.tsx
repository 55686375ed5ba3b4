import { render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../app/App';
import { REPOS, mockFetch } from '../test/fixtures';
import { dayRange } from './Chart';

describe('intermittent failures view', () => {
  it('lists bugs by failure count and charts the top ones per day', async () => {
    const { calls } = mockFetch({
      '/api/repository/': REPOS,
      '/api/failures/': [
        { bug_id: 111, bug_count: 9 },
        { bug_id: 222, bug_count: 4 },
      ],
      '/api/failurecount/': (url: URL) =>
        url.searchParams.get('bug')
          ? [{ date: '2026-05-02', test_runs: 5, failure_count: url.searchParams.get('bug') === '111' ? 6 : 1 }]
          : [
              { date: '2026-05-01', test_runs: 10, failure_count: 3 },
              { date: '2026-05-02', test_runs: 12, failure_count: 10 },
            ],
    });
    window.history.replaceState(null, '', '/intermittent-failures?startday=2026-05-01&endday=2026-05-03&tree=autoland');
    const { container } = render(<App />);
    const table = await screen.findByTestId('ifv-table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent?.slice(0, 4))).toEqual(['9111', '4222']);
    expect(within(table).getByRole('link', { name: '111' }).getAttribute('href')).toBe(
      '/intermittent-failures/bugdetails?startday=2026-05-01&endday=2026-05-03&tree=autoland&bug=111',
    );
    await waitFor(() => expect(container.querySelectorAll('polyline').length).toBe(3));
    expect(screen.getByText(/13 failures classified intermittent in 22 pushes/)).toBeTruthy();
    const q = calls.find((c) => c.url.pathname === '/api/failures/')!.url.searchParams;
    expect([q.get('startday'), q.get('endday'), q.get('tree')]).toEqual(['2026-05-01', '2026-05-03', 'autoland']);
  });

  it('shows one bug’s failures', async () => {
    mockFetch({
      '/api/repository/': REPOS,
      '/api/failurecount/': [{ date: '2026-05-01', test_runs: 3, failure_count: 2 }],
      '/api/failuresbybug/': [
        {
          push_time: '2026-05-01 10:00:00',
          platform: 'linux64',
          revision: 'abcdef0123456789',
          test_suite: 'mochitest-browser-chrome',
          tree: 'autoland',
          build_type: 'opt',
          job_id: 77,
          bug_id: 111,
          machine_name: 'm1',
          lines: [],
          task_id: 'T77',
        },
      ],
    });
    window.history.replaceState(null, '', '/intermittent-failures/bugdetails?bug=111&startday=2026-05-01&endday=2026-05-02&tree=all');
    render(<App />);
    expect(await screen.findByText('mochitest-browser-chrome')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'abcdef012345' }).getAttribute('href')).toBe('/jobs?repo=autoland&revision=abcdef0123456789&selectedTaskRun=T77.0');
  });
});

describe('dayRange', () => {
  it('lists every day inclusive', () => {
    expect(dayRange('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
  });
});
