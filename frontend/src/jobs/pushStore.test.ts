import { describe, expect, it } from 'vitest';
import { job, jobsPage, mockFetch, push } from '../test/fixtures';
import { isoMinus, PushStore } from './pushStore';

const pushList = (results: ReturnType<typeof push>[]) => ({ meta: { count: results.length, repository: 'autoland', filter_params: {} }, results });

describe('PushStore', () => {
  it('loads pushes, then every page of each push’s jobs', async () => {
    const { calls } = mockFetch({
      '/api/project/autoland/push/': pushList([push(2), push(1)]),
      '/api/jobs/': (url: URL) => {
        const pid = Number(url.searchParams.get('push_id'));
        if (pid === 2 && !url.searchParams.get('page'))
          return jobsPage([job({ id: 20, push_id: 2 })], 'http://elsewhere:8080/api/jobs/?push_id=2&page=2&count=2000');
        if (pid === 2) return jobsPage([job({ id: 21, push_id: 2 })]);
        return jobsPage([job({ id: 10, push_id: 1 })]);
      },
    });
    const s = new PushStore();
    await s.setRange('autoland', {});
    const st = s.getState();
    expect(st.pushes.map((p) => p.id)).toEqual([2, 1]);
    expect(st.jobs.get(2)!.map((j) => j.id)).toEqual([20, 21]);
    expect(st.jobs.get(1)!.map((j) => j.id)).toEqual([10]);
    const pushCall = calls.find((c) => c.url.pathname.endsWith('/push/'))!;
    expect(pushCall.url.searchParams.get('count')).toBe('10');
    // next links are followed on this origin
    expect(calls.some((c) => c.url.host === 'localhost' && c.url.searchParams.get('page') === '2')).toBe(true);
  });

  it('asks for up to 100 pushes when a range is given', async () => {
    const { calls } = mockFetch({ '/api/project/autoland/push/': pushList([]) });
    await new PushStore().setRange('autoland', { fromchange: 'abc' });
    expect(calls[0].url.searchParams.get('count')).toBe('100');
    expect(calls[0].url.searchParams.get('fromchange')).toBe('abc');
  });

  it('polls for jobs changed since the newest last_modified minus 3 s and merges them', async () => {
    let polled: URL | undefined;
    mockFetch({
      '/api/project/autoland/push/': (url: URL) => (url.searchParams.get('push_timestamp__gte') ? pushList([push(1)]) : pushList([push(1)])),
      '/api/jobs/': (url: URL) => {
        if (url.searchParams.get('last_modified__gt')) {
          polled = url;
          return jobsPage([job({ id: 10, push_id: 1, state: 'completed', result: 'testfailed', last_modified: '2026-05-01T10:05:00.000000' })]);
        }
        return jobsPage([job({ id: 10, push_id: 1, state: 'running', result: 'unknown', last_modified: '2026-05-01T10:00:00.500000' })]);
      },
    });
    const s = new PushStore();
    await s.setRange('autoland', {});
    const before = s.getState().jobs.get(1);
    await s.poll();
    expect(polled!.searchParams.get('push_id__in')).toBe('1');
    expect(polled!.searchParams.get('last_modified__gt')).toBe('2026-05-01T09:59:57.500');
    const after = s.getState().jobs.get(1)!;
    expect(after).not.toBe(before);
    expect(after[0].result).toBe('testfailed');
  });

  it('adds new pushes at the top while polling', async () => {
    let n = 0;
    mockFetch({
      '/api/project/autoland/push/': () => (n++ === 0 ? pushList([push(1)]) : pushList([push(2), push(1)])),
      '/api/jobs/': jobsPage([]),
    });
    const s = new PushStore();
    await s.setRange('autoland', {});
    await s.poll();
    expect(s.getState().pushes.map((p) => p.id)).toEqual([2, 1]);
    expect(s.getState().jobs.has(2)).toBe(true);
  });

  it('gets the next pushes older than the oldest and reports the new fromchange', async () => {
    const { calls } = mockFetch({
      '/api/project/autoland/push/': (url: URL) =>
        url.searchParams.get('push_timestamp__lte') ? pushList([push(1), push(0)]) : pushList([push(2), push(1)]),
      '/api/jobs/': jobsPage([]),
    });
    const s = new PushStore();
    await s.setRange('autoland', {});
    const rev = await s.loadMore(10);
    expect(s.getState().pushes.map((p) => p.id)).toEqual([2, 1, 0]);
    expect(rev).toBe(push(0).revision);
    const more = calls.find((c) => c.url.searchParams.get('push_timestamp__lte'))!;
    expect(more.url.searchParams.get('push_timestamp__lte')).toBe(String(push(1).push_timestamp));
    expect(more.url.searchParams.get('count')).toBe('11');
    // Writing that fromchange into the URL must not reload the list.
    const count = calls.length;
    await s.setRange('autoland', { fromchange: rev });
    expect(calls.length).toBe(count);
  });

  it('reports API errors', async () => {
    mockFetch({ '/api/project/nope/push/': new Response(JSON.stringify({ detail: 'No project with name nope' }), { status: 404 }) });
    const s = new PushStore();
    await s.setRange('nope', {});
    expect(s.getState().error).toContain('No project with name nope');
  });
});

describe('isoMinus', () => {
  it('subtracts seconds from a naive ISO time', () => {
    expect(isoMinus('2026-05-01T00:00:01.250000', 3)).toBe('2026-04-30T23:59:58.250');
  });
});
