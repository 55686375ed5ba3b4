import { describe, expect, it } from 'vitest';
import { LogBuffer, readInto } from './logBuffer';

const enc = (s: string) => new TextEncoder().encode(s);

function lines(b: LogBuffer) {
  return Array.from({ length: b.lineCount }, (_, i) => b.line(i));
}

describe('LogBuffer', () => {
  it('splits on \\n, \\r\\n and a lone \\r, as the log parser numbers lines', () => {
    const b = new LogBuffer(16);
    b.append(enc('one\ntwo\r\nthree\rfour'));
    b.finish();
    expect(lines(b)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('does not count a trailing newline as a line', () => {
    const b = new LogBuffer();
    b.append(enc('a\nb\n'));
    b.finish();
    expect(b.lineCount).toBe(2);
  });

  it('handles \\r\\n split across chunks and multi-byte characters', () => {
    const b = new LogBuffer(4);
    for (const part of ['ab\r', '\ncé', 'ß\n', 'z']) b.append(enc(part));
    b.finish();
    expect(lines(b)).toEqual(['ab', 'céß', 'z']);
  });

  it('grows past its first allocation', () => {
    const b = new LogBuffer(1024);
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    b.append(enc(text));
    b.finish();
    expect(b.lineCount).toBe(5000);
    expect(b.line(4321)).toBe('line 4321');
  });

  it('refuses logs over its byte limit', () => {
    const b = new LogBuffer(16, 32);
    expect(() => b.append(new Uint8Array(64))).toThrow(/larger than 32 bytes/);
  });

  it('searches case-insensitively, in ASCII bytes and in decoded text', () => {
    const b = new LogBuffer();
    b.append(enc('INFO ok\nTEST-UNEXPECTED-FAIL | x\nnothing\ntest-unexpected-fail again\nÜber fail\n'));
    b.finish();
    expect(b.search('Unexpected-Fail')).toEqual([1, 3]);
    expect(b.search('über')).toEqual([4]);
    expect(b.search('absent')).toEqual([]);
    expect(b.search('fail', 1)).toEqual([1]);
  });
});

describe('readInto', () => {
  const stream = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        chunks.forEach((x) => c.enqueue(x));
        c.close();
      },
    });

  it('reads a plain body', async () => {
    const b = new LogBuffer();
    await readInto(stream([enc('a\n'), enc('b\n')]), b, () => {});
    expect(b.finished).toBe(true);
    expect(lines(b)).toEqual(['a', 'b']);
  });

  it('gunzips a gzip body served without Content-Encoding', async () => {
    const gz = new Response(stream([enc('x\ny\nz\n')]).pipeThrough(new CompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>));
    const bytes = new Uint8Array(await gz.arrayBuffer());
    const b = new LogBuffer();
    await readInto(stream([bytes.slice(0, 5), bytes.slice(5)]), b, () => {});
    expect(lines(b)).toEqual(['x', 'y', 'z']);
  });
});
