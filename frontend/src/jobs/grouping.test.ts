import { describe, expect, it } from 'vitest';
import { job } from '../test/fixtures';
import { collapseGroup, groupJobs, platformName, rowOrder } from './grouping';

describe('groupJobs', () => {
  const jobs = [
    job({ id: 1, job_type_symbol: 'bc10', job_group_symbol: 'M', job_group_name: 'Mochitests' }),
    job({ id: 2, job_type_symbol: 'bc2', job_group_symbol: 'M', job_group_name: 'Mochitests' }),
    job({ id: 3, job_type_symbol: 'B' }),
    job({ id: 4, job_type_symbol: 'wpt1', job_group_symbol: 'W', tier: 2 }),
    job({ id: 5, job_type_symbol: 'X1', job_group_symbol: 'X', platform_option: 'debug' }),
    job({ id: 6, job_type_symbol: 'B', platform: 'windows11-64' }),
    job({ id: 7, job_type_symbol: 'wpt2', job_group_symbol: 'W', tier: 1 }),
  ];
  const rows = groupJobs(jobs);

  it('makes one row per platform and option, opt before debug', () => {
    expect(rows.map((r) => r.key)).toEqual(['linux64 opt', 'linux64 debug', 'windows11-64 opt']);
    expect(rows[0].label).toBe('Linux x64');
    expect(platformName('some-new-platform')).toBe('some-new-platform');
  });

  it('puts ungrouped symbols first, then groups keyed by symbol and tier, in natural order', () => {
    const r = rows[0];
    expect(r.ungrouped.map((j) => j.id)).toEqual([3]);
    expect(r.groups.map((g) => g.key)).toEqual(['M:1', 'W:1', 'W:2']);
    expect(r.groups[0].jobs.map((j) => j.job_type_symbol)).toEqual(['bc2', 'bc10']);
    expect(rowOrder(r).map((j) => j.id)).toEqual([3, 2, 1, 7, 4]);
  });
});

describe('collapseGroup', () => {
  it('shows failures and kept jobs, and counts the rest by status', () => {
    const { shown, counts } = collapseGroup(
      [
        job({ id: 1, result: 'testfailed' }),
        job({ id: 2 }),
        job({ id: 3 }),
        job({ id: 4, state: 'running', result: 'unknown' }),
        job({ id: 5 }),
      ],
      (j) => j.id === 5,
    );
    expect(shown.map((j) => j.id)).toEqual([1, 5]);
    expect(counts).toEqual([
      { status: 'success', n: 2 },
      { status: 'running', n: 1 },
    ]);
  });
});
