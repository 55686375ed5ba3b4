import { describe, expect, it } from 'vitest';
import { suggestion } from '../test/fixtures';
import { errorLines, parseStatusNote } from './FailureSummary';

describe('errorLines', () => {
  it('joins error lines with their suggestions by line number, in log order', () => {
    const out = errorLines(
      [
        { line: 'b', line_number: 20, new_failure: false },
        { line: 'a', line_number: 10, new_failure: true },
      ],
      [suggestion(20, { failure_new_in_rev: true, counter: 4 }), suggestion(30)],
    );
    expect(out.map((e) => [e.lineNumber, e.isNew, e.counter])).toEqual([
      [10, true, null],
      [20, true, 4],
      [30, false, 3],
    ]);
  });
});

describe('parseStatusNote', () => {
  it('explains why a failure summary is empty', () => {
    const log = (parse_status: string, name = 'live_backing_log') => ({ id: 1, job_id: 1, name, url: '', parse_status });
    expect(parseStatusNote([log('pending')])).toMatch(/not finished/);
    expect(parseStatusNote([log('failed')])).toMatch(/failed/);
    expect(parseStatusNote([log('skipped-size')])).toMatch(/too large/);
    expect(parseStatusNote([log('parsed'), log('pending', 'errorsummary_json')])).toBeNull();
    expect(parseStatusNote([])).toMatch(/no logs/);
  });
});
