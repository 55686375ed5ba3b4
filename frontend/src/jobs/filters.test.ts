import { describe, expect, it } from 'vitest';
import { job } from '../test/fixtures';
import { compileFilter, DEFAULT_STATUSES, formatJobsUrl, isUnclassifiedOnly, parseJobsUrl, toggleUnclassifiedOnly } from './filters';

const label = () => 'Linux x64';

describe('jobs URL state', () => {
  it('hides superseded, unscheduled and tier 3 by default', () => {
    const s = parseJobsUrl('?repo=autoland');
    expect(s.resultStatus).not.toContain('superseded');
    expect(s.resultStatus).not.toContain('unscheduled');
    expect(s.resultStatus).toContain('testfailed');
    expect(s.tier).toEqual([1, 2]);
    expect(formatJobsUrl(s)).toBe('?repo=autoland');
  });

  it('defaults the repository to autoland', () => {
    expect(parseJobsUrl('').repo).toBe('autoland');
  });

  it('round-trips every parameter so a reload restores the view', () => {
    const url =
      '?repo=try&revision=abc&author=a%40b.c&resultStatus=testfailed%2Cbusted&classifiedState=unclassified&tier=1%2C3&searchStr=mochitest+linux&job_type_symbol=bc1&group_state=expanded&collapsedPushes=4%2C5&selectedTaskRun=T1.2';
    const s = parseJobsUrl(url);
    expect(s).toMatchObject({
      repo: 'try',
      range: { revision: 'abc', author: 'a@b.c' },
      resultStatus: ['testfailed', 'busted'],
      classifiedState: ['unclassified'],
      tier: [1, 3],
      searchStr: 'mochitest linux',
      fields: [{ key: 'job_type_symbol', value: 'bc1' }],
      groupState: 'expanded',
      collapsedPushes: [4, 5],
      selectedTaskRun: 'T1.2',
    });
    expect(parseJobsUrl(formatJobsUrl(s))).toEqual(s);
  });

  it('reads repeated parameters as well as comma lists', () => {
    expect(parseJobsUrl('?resultStatus=busted&resultStatus=exception').resultStatus).toEqual(['busted', 'exception']);
  });

  it('keeps an empty status selection distinct from the default', () => {
    const s = { ...parseJobsUrl('?repo=autoland'), resultStatus: [] };
    const back = parseJobsUrl(formatJobsUrl(s));
    expect(back.resultStatus).toEqual(['none']);
    expect(compileFilter(back, label)(job({ id: 1 }))).toBe(false);
  });

  it('toggles the unclassified-only view (u)', () => {
    const s = parseJobsUrl('?repo=autoland');
    const on = toggleUnclassifiedOnly(s);
    expect(isUnclassifiedOnly(on)).toBe(true);
    expect(formatJobsUrl(on)).toContain('classifiedState=unclassified');
    const off = toggleUnclassifiedOnly(on);
    expect(off.resultStatus).toEqual(DEFAULT_STATUSES);
    expect(isUnclassifiedOnly(off)).toBe(false);
  });
});

describe('compileFilter', () => {
  const base = parseJobsUrl('?repo=autoland');
  it('filters by displayed status and tier', () => {
    const f = compileFilter(base, label);
    expect(f(job({ id: 1, result: 'testfailed' }))).toBe(true);
    expect(f(job({ id: 2, result: 'superseded' }))).toBe(false);
    expect(f(job({ id: 3, state: 'unscheduled', result: 'unknown' }))).toBe(false);
    expect(f(job({ id: 4, tier: 3 }))).toBe(false);
    expect(f(job({ id: 5, state: 'running', result: 'unknown' }))).toBe(true);
  });

  it('ANDs quick-filter words over platform, option, group and job names', () => {
    const f = compileFilter({ ...base, searchStr: 'linux x64 mochitest debug' }, label);
    expect(f(job({ id: 1, job_type_name: 'test-linux64/debug-mochitest-1', platform_option: 'debug' }))).toBe(true);
    expect(f(job({ id: 2, job_type_name: 'test-linux64/opt-mochitest-1' }))).toBe(false);
  });

  it('matches symbols exactly and names by substring', () => {
    const bySymbol = compileFilter({ ...base, fields: [{ key: 'job_type_symbol', value: 'bc1' }] }, label);
    expect(bySymbol(job({ id: 1, job_type_symbol: 'bc1' }))).toBe(true);
    expect(bySymbol(job({ id: 2, job_type_symbol: 'bc10' }))).toBe(false);
    const byName = compileFilter({ ...base, fields: [{ key: 'job_type_name', value: 'browser-chrome' }] }, label);
    expect(byName(job({ id: 3, job_type_name: 'test-linux64/opt-mochitest-browser-chrome-1' }))).toBe(true);
  });

  it('keeps only unclassified jobs in the unclassified-only view', () => {
    const f = compileFilter(toggleUnclassifiedOnly(base), label);
    expect(f(job({ id: 1, result: 'testfailed' }))).toBe(true);
    expect(f(job({ id: 2, result: 'testfailed', failure_classification_id: 4 }))).toBe(false);
    expect(f(job({ id: 3, result: 'testfailed', failure_classification_id: 6 }))).toBe(true);
    expect(f(job({ id: 4, result: 'success' }))).toBe(false);
  });
});
