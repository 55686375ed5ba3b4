package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// lineReader splits a stream into lines exactly like Python's
// bytes.splitlines() over the whole stream: "\n", "\r" and "\r\n" end a line,
// a final line without terminator still counts, and nothing follows a final
// terminator.
//
// It never allocates per line: lines are slices of one buffer, valid until
// the next call. A line longer than maxLine is returned cut to its first
// maxLine bytes (long == true) and the rest of it is skipped as it streams
// past, so a single 2 GB line costs maxLine bytes of memory, not 2 GB.
type lineReader struct {
	r       io.Reader
	ctx     context.Context
	buf     []byte
	start   int // first unconsumed byte
	end     int // end of buffered data
	scanned int // buf[start:scanned] is known to hold no terminator
	maxLine int
	maxBuf  int

	total    int64 // bytes read from r
	maxBytes int64 // 0: no limit
	eof      bool
	err      error // sticky read error (not io.EOF)

	pendingCR bool // the last line ended with "\r" at the end of the data read so far
	skipping  bool // discarding the rest of an over-long line
}

const (
	initialBuffer = 256 << 10
)

// initialBuffers are reused between parses: a fresh 256 KiB buffer, zeroed
// by the allocator and then collected, cost more than parsing most logs,
// which are a few kilobytes.
var initialBuffers = sync.Pool{New: func() any { return new([initialBuffer]byte) }}

func newLineReader(ctx context.Context, r io.Reader, maxLine int, maxBytes int64) *lineReader {
	maxBuf := max(initialBuffer, 2*maxLine)
	return &lineReader{
		r:        r,
		ctx:      ctx,
		buf:      initialBuffers.Get().(*[initialBuffer]byte)[:],
		maxLine:  maxLine,
		maxBuf:   maxBuf,
		maxBytes: maxBytes,
	}
}

// release hands the buffer back for the next parse; the reader and every
// line it returned must not be used after.
func (lr *lineReader) release() {
	if len(lr.buf) == initialBuffer {
		initialBuffers.Put((*[initialBuffer]byte)(lr.buf))
	}
	lr.buf = nil
}

// next returns the next line without its terminator. ok is false at the end
// of the stream or on an error (see err()). long reports a line cut to
// maxLine bytes.
func (lr *lineReader) next() (line []byte, long bool, ok bool) {
	for {
		if lr.pendingCR {
			// The previous line ended with "\r" at the end of the data:
			// a "\n" starting the next read belongs to it.
			switch {
			case lr.start < lr.end:
				if lr.buf[lr.start] == '\n' {
					lr.start++
				}
				lr.pendingCR = false
			case lr.eof || lr.err != nil:
				lr.pendingCR = false
			default:
				lr.fill()
			}
			continue
		}
		if lr.skipping {
			data := lr.buf[lr.start:lr.end]
			if i := indexEOL(data); i >= 0 {
				lr.start += i
				lr.consumeTerminator()
				lr.skipping = false
				continue
			}
			lr.start, lr.scanned = lr.end, lr.end
			if lr.eof || lr.err != nil {
				lr.skipping = false
				return nil, false, false
			}
			lr.fill()
			continue
		}
		if lr.scanned < lr.start {
			lr.scanned = lr.start
		}
		if i := indexEOL(lr.buf[lr.scanned:lr.end]); i >= 0 {
			pos := lr.scanned + i
			line = lr.buf[lr.start:pos]
			lr.start = pos
			lr.consumeTerminator()
			lr.scanned = lr.start
			if len(line) > lr.maxLine {
				return line[:lr.maxLine], true, true
			}
			return line, false, true
		}
		lr.scanned = lr.end
		if lr.end-lr.start >= lr.maxLine {
			// Over-long line: hand out its head now, skip the rest later.
			line = lr.buf[lr.start : lr.start+lr.maxLine]
			lr.start = lr.end
			lr.scanned = lr.end
			lr.skipping = true
			return line, true, true
		}
		if lr.eof || lr.err != nil {
			if lr.start < lr.end && lr.err == nil {
				// A final line without terminator.
				line = lr.buf[lr.start:lr.end]
				lr.start, lr.scanned = lr.end, lr.end
				return line, false, true
			}
			return nil, false, false
		}
		lr.fill()
	}
}

// consumeTerminator steps over the "\n", "\r" or "\r\n" at lr.start.
func (lr *lineReader) consumeTerminator() {
	c := lr.buf[lr.start]
	lr.start++
	if c == '\r' {
		if lr.start < lr.end {
			if lr.buf[lr.start] == '\n' {
				lr.start++
			}
		} else if !lr.eof && lr.err == nil {
			lr.pendingCR = true
		}
	}
}

// indexEOL returns the index of the first '\n' or '\r' in b, or -1.
func indexEOL(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	if n < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if r := bytes.IndexByte(b[:n], '\r'); r >= 0 {
		return r
	}
	return n
}

// fill reads more data, compacting or growing the buffer first. It returns
// false when nothing could be read (end of stream or error recorded).
func (lr *lineReader) fill() bool {
	if lr.start > 0 {
		n := copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.scanned -= lr.start
		lr.end = n
		lr.start = 0
	}
	if lr.end == len(lr.buf) {
		if len(lr.buf) >= lr.maxBuf {
			// Cannot happen: next() hands out a line head before the
			// buffer fills. Guard against looping forever anyway.
			lr.err = errors.New("line buffer full")
			return false
		}
		nb := make([]byte, min(2*len(lr.buf), lr.maxBuf))
		copy(nb, lr.buf[:lr.end])
		lr.buf = nb
	}
	// Checked once per read: cheap next to a read, and often enough that
	// a log that never ends stops soon after its context is cancelled.
	if err := lr.ctx.Err(); err != nil {
		lr.err = err
		return false
	}
	for empty := 0; lr.end < len(lr.buf); {
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		lr.total += int64(n)
		if lr.maxBytes > 0 && lr.total > lr.maxBytes {
			lr.err = &TooLargeError{Limit: lr.maxBytes}
			// Keep only what fits in the limit, so the partial result
			// describes exactly the first maxBytes bytes.
			lr.end -= int(lr.total - lr.maxBytes)
			lr.total = lr.maxBytes
			return n > 0
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				lr.eof = true
			} else {
				lr.err = fmt.Errorf("read log: %w", err)
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if empty++; empty >= 100 {
			lr.err = fmt.Errorf("read log: %w", io.ErrNoProgress)
			return false
		}
	}
	return true
}
