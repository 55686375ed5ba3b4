import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../app/App';
import { job, mockFetch } from '../test/fixtures';
import { parseLineRange } from './LogViewer';

const LOG = Array.from({ length: 50 }, (_, i) => (i === 9 ? 'TEST-UNEXPECTED-FAIL | test_x.js | boom' : `INFO line ${i + 1}`)).join('\n') + '\n';

function api(logStatus = 200) {
  return mockFetch({
    '/api/repository/': [],
    '/api/project/autoland/jobs/5/': { ...job({ id: 5, result: 'testfailed', job_type_symbol: 'X1' }), logs: [] },
    '/api/project/autoland/job-log-url/': [{ id: 8, job_id: 5, name: 'live_backing_log', url: 'https://logs.example.com/live_backing.log', parse_status: 'parsed' }],
    '/api/project/autoland/jobs/5/text_log_errors/': [{ id: 1, job: 5, line: 'TEST-UNEXPECTED-FAIL | test_x.js | boom', line_number: 9, new_failure: false }],
    '/live_backing.log': () => new Response(LOG, { status: logStatus }),
  });
}

describe('log viewer', () => {
  it('parses line-range permalinks', () => {
    expect(parseLineRange('12')).toEqual([12, 12]);
    expect(parseLineRange('20-10')).toEqual([10, 20]);
    expect(parseLineRange('x')).toBeNull();
    expect(parseLineRange('0')).toBeNull();
  });

  it('falls back to the log’s own URL without a proxy, highlights error lines and selects the permalinked range', async () => {
    const { calls } = api();
    window.history.replaceState(null, '', '/logviewer?job_id=5&repo=autoland&lineNumber=9-11');
    const { container } = render(<App />);
    await waitFor(() => expect(screen.getByTestId('log-status').textContent).toMatch(/^50 lines/));
    expect(calls.some((c) => c.url.pathname === '/api/project/autoland/job-log-url/8/raw/')).toBe(true);
    expect(calls.some((c) => c.url.href === 'https://logs.example.com/live_backing.log')).toBe(true);
    const errorLine = container.querySelector('.log-line.error-line');
    expect(errorLine?.getAttribute('data-line')).toBe('10');
    expect([...container.querySelectorAll('.log-line.selected')].map((e) => e.getAttribute('data-line'))).toEqual(['9', '10', '11']);
    expect(screen.getByTestId('error-count').textContent).toBe('1 error line');
  });

  it('jumps to errors with n, writing the line into the URL, and searches', async () => {
    api();
    window.history.replaceState(null, '', '/logviewer?job_id=5&repo=autoland');
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('log-status').textContent).toMatch(/^50 lines/));
    fireEvent.keyDown(window, { key: 'n' });
    await waitFor(() => expect(new URLSearchParams(window.location.search).get('lineNumber')).toBe('10'));
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search the log' }), { target: { value: 'info line 4' } });
    await waitFor(() => expect(screen.getByTestId('match-count').textContent).toBe('1 of 11'));
  });

  it('says so when the log cannot be fetched', async () => {
    api(500);
    window.history.replaceState(null, '', '/logviewer?job_id=5&repo=autoland');
    render(<App />);
    expect(await screen.findByText(/Could not load the log: 500/)).toBeTruthy();
  });
});
