import { afterEach, describe, expect, it } from 'vitest';
import { setToken } from '../api/http';
import { job, mockFetch } from '../test/fixtures';
import { classificationProblem, deleteClassification, pinboard, saveClassification } from './pinboard';

afterEach(() => pinboard.clear());

describe('classificationProblem (Treeherder’s pinboard gate)', () => {
  it('needs a bug or a comment for intermittent', () => {
    expect(classificationProblem(4, [], '', false)).toMatch(/bug or a comment/);
    expect(classificationProblem(4, [], 'flaky', false)).toBeNull();
    expect(classificationProblem(4, [123], '', false)).toBeNull();
  });
  it('needs a bug or a revision-long comment for fixed by commit', () => {
    expect(classificationProblem(2, [], 'abc', false)).toMatch(/Fixed by commit/);
    expect(classificationProblem(2, [], 'abcdef012345', false)).toBeNull();
  });
  it('exempts try and project repositories, and other classifications', () => {
    expect(classificationProblem(4, [], '', true)).toBeNull();
    expect(classificationProblem(5, [], '', false)).toBeNull();
  });
});

describe('pinboard store', () => {
  it('pins, toggles and keeps bugs unique', () => {
    const a = job({ id: 1 });
    pinboard.pin(a);
    pinboard.pin(a);
    pinboard.toggle(job({ id: 2 }));
    expect([...pinboard.get().jobs.keys()]).toEqual([1, 2]);
    pinboard.toggle(a);
    expect([...pinboard.get().jobs.keys()]).toEqual([2]);
    pinboard.addBug(5);
    pinboard.addBug(5);
    pinboard.addBug(-1);
    expect(pinboard.get().bugs).toEqual([5]);
  });
});

describe('saveClassification', () => {
  it('posts a note and a bug link per job with the bearer token', async () => {
    setToken('secret-token');
    const { calls } = mockFetch({
      'POST /api/project/autoland/note/': { message: 'note stored' },
      'POST /api/project/autoland/bug-job-map/': { message: 'Bug job map saved' },
    });
    const res = await saveClassification('autoland', [job({ id: 7 }), job({ id: 8 })], 4, [1234], ' flaky ');
    expect(res.errors).toEqual([]);
    expect(res.saved.sort()).toEqual([7, 8]);
    const notes = calls.filter((c) => c.url.pathname.endsWith('/note/'));
    expect(notes.map((c) => c.body)).toEqual(
      expect.arrayContaining([
        { job_id: 7, failure_classification_id: 4, text: 'flaky' },
        { job_id: 8, failure_classification_id: 4, text: 'flaky' },
      ]),
    );
    expect(notes[0].headers.authorization).toBe('Bearer secret-token');
    expect(calls.filter((c) => c.url.pathname.endsWith('/bug-job-map/')).map((c) => c.body)).toContainEqual({ job_id: 7, bug_id: 1234, bug_open: false });
    setToken(null);
  });

  it('sends the CSRF token with a session instead of a bearer token', async () => {
    document.cookie = 'csrftoken=abc123';
    const { calls } = mockFetch({ 'POST /api/project/autoland/note/': {} });
    await saveClassification('autoland', [job({ id: 1 })], 5, [], '');
    expect(calls[0].headers['x-csrftoken']).toBe('abc123');
    expect(calls[0].headers.authorization).toBeUndefined();
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  });

  it('reports a server without the write endpoint', async () => {
    mockFetch({});
    const res = await saveClassification('autoland', [job({ id: 1 })], 4, [], 'x');
    expect(res.saved).toEqual([]);
    expect(res.status).toBe(404);
    expect(res.errors[0]).toMatch(/404/);
  });
});

describe('deleteClassification', () => {
  it('deletes the job’s bug links and notes', async () => {
    const { calls } = mockFetch({
      '/api/project/autoland/note/': [
        { id: 3, job_id: 9, failure_classification_id: 4, created: '', who: 'a', text: '' },
        { id: 5, job_id: 9, failure_classification_id: 2, created: '', who: 'a', text: '' },
      ],
      '/api/project/autoland/bug-job-map/': [
        { job_id: 9, bug_id: 42, bug_internal_id: 1, created: '', who: 'a' },
        { job_id: 9, bug_id: null, bug_internal_id: 7, created: '', who: 'a' },
      ],
      'DELETE /api/project/autoland/note/3/': new Response(null, { status: 204 }),
      'DELETE /api/project/autoland/note/5/': new Response(null, { status: 204 }),
      'DELETE /api/project/autoland/bug-job-map/9-42/': new Response(null, { status: 204 }),
      'DELETE /api/project/autoland/bug-job-map/9-i7/': new Response(null, { status: 204 }),
    });
    await deleteClassification('autoland', 9);
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url.pathname)).toEqual([
      '/api/project/autoland/bug-job-map/9-42/',
      '/api/project/autoland/bug-job-map/9-i7/',
      '/api/project/autoland/note/5/',
      '/api/project/autoland/note/3/',
    ]);
  });
});
