import { describe, expect, it } from 'vitest';
import { job } from '../test/fixtures';
import { classificationMark, displayStatus, isClassified, isUnclassifiedFailure, jobClassName, jobTitle } from './status';

describe('job status', () => {
  it('shows the state until the job completes, then the result', () => {
    expect(displayStatus(job({ id: 1, state: 'running', result: 'unknown' }))).toBe('running');
    expect(displayStatus(job({ id: 1, state: 'completed', result: 'busted' }))).toBe('busted');
    expect(displayStatus(job({ id: 1, state: 'completed', result: 'weird' }))).toBe('unknown');
  });

  it('treats 6 and 8 as unclassified, as Treeherder', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].filter(isClassified)).toEqual([2, 3, 4, 5, 7]);
  });

  it('stars classified failures, hollow when autoclassified', () => {
    expect(classificationMark(job({ id: 1, result: 'testfailed', failure_classification_id: 4 }))).toBe('★');
    expect(classificationMark(job({ id: 1, result: 'testfailed', failure_classification_id: 7 }))).toBe('☆');
    expect(classificationMark(job({ id: 1, result: 'testfailed' }))).toBe('');
    expect(classificationMark(job({ id: 1, result: 'success', failure_classification_id: 4 }))).toBe('');
  });

  it('names the status in the class list and the tooltip', () => {
    const j = job({ id: 1, result: 'testfailed', failure_classification_id: 2, duration: 12 });
    expect(jobClassName(j, true, false)).toBe('job st-testfailed classified selected');
    expect(jobTitle(j)).toBe('test-linux64/opt-job-1 - test failed - classified - 12 mins');
    expect(isUnclassifiedFailure(j)).toBe(false);
  });
});
