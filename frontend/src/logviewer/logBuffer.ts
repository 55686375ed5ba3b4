// A raw log held as bytes plus an index of line starts, so a 100 MB log
// costs about 100 MB (not the 200 MB+ of a JavaScript string and an array
// of line strings) and only the lines on screen are ever decoded.
//
// Lines split as Treeherder's parser splits them (Python's
// bytes.splitlines: \n, \r\n and a lone \r), numbered from 0, so the
// parser's error line numbers point at the same lines.

const LF = 10;
const CR = 13;

export class LogBuffer {
  private buf: Uint8Array;
  private len = 0;
  /** starts[i] is the byte offset where line i begins. */
  private starts: Uint32Array;
  private lines = 0;
  /** The last byte seen was a CR whose line already ended (a following LF belongs to it). */
  private pendingCR = false;
  private done = false;
  private decoder = new TextDecoder('utf-8');

  constructor(
    sizeHint = 1 << 20,
    readonly maxBytes = 1 << 30,
  ) {
    this.buf = new Uint8Array(Math.max(1024, Math.min(sizeHint, maxBytes)));
    this.starts = new Uint32Array(1024);
    this.starts[0] = 0;
    this.lines = 1;
  }

  get byteLength(): number {
    return this.len;
  }

  /** Lines so far; the last one may still be growing until finish(). */
  get lineCount(): number {
    if (this.len === 0) return 0;
    // A trailing line terminator does not start another line.
    return this.starts[this.lines - 1] === this.len ? this.lines - 1 : this.lines;
  }

  private pushStart(off: number) {
    if (this.lines === this.starts.length) {
      const n = new Uint32Array(this.starts.length * 2);
      n.set(this.starts);
      this.starts = n;
    }
    this.starts[this.lines++] = off;
  }

  /** Appends a chunk; throws when the log goes over maxBytes. */
  append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.maxBytes) throw new Error(`log larger than ${this.maxBytes} bytes`);
    if (this.len + chunk.length > this.buf.length) {
      let cap = this.buf.length;
      while (cap < this.len + chunk.length) cap *= 2;
      const n = new Uint8Array(Math.min(cap, this.maxBytes));
      n.set(this.buf.subarray(0, this.len));
      this.buf = n;
    }
    const base = this.len;
    this.buf.set(chunk, base);
    this.len += chunk.length;
    let i = 0;
    if (this.pendingCR && chunk.length) {
      if (chunk[0] === LF) {
        // \r\n split across chunks: the line already ended at the \r.
        this.starts[this.lines - 1] = base + 1;
        i = 1;
      }
      this.pendingCR = false;
    }
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === LF) this.pushStart(base + i + 1);
      else if (c === CR) {
        if (i + 1 < chunk.length) {
          if (chunk[i + 1] === LF) i++;
          this.pushStart(base + i + 1);
        } else {
          this.pushStart(base + i + 1);
          this.pendingCR = true;
        }
      }
    }
  }

  finish(): void {
    this.done = true;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Byte range of line i without its terminator. */
  private range(i: number): [number, number] {
    const s = this.starts[i];
    let e = i + 1 < this.lines ? this.starts[i + 1] : this.len;
    if (e > s && (this.buf[e - 1] === LF || this.buf[e - 1] === CR)) {
      e--;
      if (e > s && this.buf[e] === LF && this.buf[e - 1] === CR) e--;
    }
    return [s, e];
  }

  line(i: number): string {
    if (i < 0 || i >= this.lines) return '';
    const [s, e] = this.range(i);
    return this.decoder.decode(this.buf.subarray(s, e));
  }

  /**
   * Line numbers (0-based) containing `query`, case-insensitively, up to
   * `limit`. ASCII queries scan the bytes without decoding; others decode
   * line by line.
   */
  search(query: string, limit = 10_000): number[] {
    const out: number[] = [];
    if (!query) return out;
    const q = query.toLowerCase();
    const n = this.lineCount;
    // eslint-disable-next-line no-control-regex
    if (/^[\x00-\x7f]+$/.test(q)) {
      const needle = new TextEncoder().encode(q);
      const first = needle[0];
      const firstUpper = first >= 97 && first <= 122 ? first - 32 : first;
      const buf = this.buf;
      for (let li = 0; li < n && out.length < limit; li++) {
        const [s, e] = this.range(li);
        const last = e - needle.length;
        outer: for (let p = s; p <= last; p++) {
          const c = buf[p];
          if (c !== first && c !== firstUpper) continue;
          for (let k = 1; k < needle.length; k++) {
            let b = buf[p + k];
            if (b >= 65 && b <= 90) b += 32;
            if (b !== needle[k]) continue outer;
          }
          out.push(li);
          break;
        }
      }
      return out;
    }
    for (let li = 0; li < n && out.length < limit; li++) if (this.line(li).toLowerCase().includes(q)) out.push(li);
    return out;
  }
}

/** Reads a response body into a LogBuffer, gunzipping when the bytes are gzip (a .gz served without Content-Encoding). */
export async function readInto(
  body: ReadableStream<Uint8Array>,
  buf: LogBuffer,
  onProgress: () => void,
  signal?: AbortSignal,
): Promise<void> {
  let reader = body.getReader();
  let first = await reader.read();
  if (!first.done && first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b && typeof DecompressionStream !== 'undefined') {
    // Put the first chunk back in front and decompress the whole stream.
    const head = first.value;
    const rest = reader;
    const joined = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(head);
      },
      async pull(c) {
        const r = await rest.read();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      cancel(reason) {
        return rest.cancel(reason);
      },
    });
    reader = joined.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>).getReader();
    first = await reader.read();
  }
  let last = performance.now();
  for (let r = first; !r.done; r = await reader.read()) {
    if (signal?.aborted) {
      await reader.cancel();
      return;
    }
    buf.append(r.value);
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      onProgress();
    }
  }
  buf.finish();
  onProgress();
}
