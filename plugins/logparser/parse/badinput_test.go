package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func syntheticLog(lines int) []byte {
	var b bytes.Buffer
	for i := range lines {
		if i%1000 == 500 {
			fmt.Fprintf(&b, "12:00:00     INFO - TEST-UNEXPECTED-FAIL | test_%d.html | boom\r\n", i)
		} else {
			fmt.Fprintf(&b, "12:00:00     INFO - TEST-PASS | test_%d.html | fine %x\r\n", i, rand.Uint64())
		}
	}
	return b.Bytes()
}

func TestDetectAndDecompress(t *testing.T) {
	log := syntheticLog(3000)
	for name, in := range map[string][]byte{"plain": log, "gzip": gzipBytes(t, log)} {
		r, err := DetectAndDecompress(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, log) {
			t.Fatalf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	// Concatenated gzip members are one log.
	two := append(gzipBytes(t, []byte("a\n")), gzipBytes(t, []byte("b\n"))...)
	r, _ := DetectAndDecompress(bytes.NewReader(two))
	if got, err := io.ReadAll(r); err != nil || string(got) != "a\nb\n" {
		t.Errorf("multi-member: %q %v", got, err)
	}
	for _, in := range []string{"", "\x1f", "\x8b\x1f plain"} {
		r, err := DetectAndDecompress(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got, _ := io.ReadAll(r); string(got) != in {
			t.Errorf("%q read back as %q", in, got)
		}
	}
	if _, err := DetectAndDecompress(strings.NewReader("\x1f\x8b\x00garbage")); err == nil || !strings.Contains(err.Error(), "open gzip log") {
		t.Errorf("bad gzip header: %v", err)
	}
}

// A truncated gzip log: a clear error, and what was parsed before it.
func TestTruncatedGzip(t *testing.T) {
	gz := gzipBytes(t, syntheticLog(20000))
	r, err := DetectAndDecompress(bytes.NewReader(gz[:len(gz)/2]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseErrors(context.Background(), r, Options{})
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "gunzip: unexpected EOF") {
		t.Fatalf("err = %v", err)
	}
	if s == nil || len(s.Errors) == 0 || s.Errors[0].LineNumber != 500 || s.Lines == 0 || s.Lines >= 20000 {
		t.Fatalf("partial summary: %+v", s)
	}
}

// Random bytes: no panic, no error, bounded results.
func TestBinaryGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	s, err := ParseErrors(context.Background(), bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Bytes != int64(len(data)) || len(s.Errors) > DefaultMaxErrors {
		t.Errorf("%+v", s)
	}
	// Garbage with a gzip magic number is a gzip error.
	r, err := DetectAndDecompress(bytes.NewReader(append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0}, data...)))
	if err == nil {
		_, err = ParseErrors(context.Background(), r, Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Errorf("garbage after a gzip header: %v", err)
	}
	// Garbage in an errorsummary log is an error, not a panic.
	if _, err := ParseErrorSummary(context.Background(), bytes.NewReader(data), SummaryOptions{}); err == nil {
		t.Error("errorsummary of garbage: no error")
	}
}

// repeatReader yields n bytes of fill (forever when n < 0), then tail.
type repeatReader struct {
	fill   byte
	n      int64
	tail   *strings.Reader
	onRead func(read int64)
	read   int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return r.tail.Read(p)
	}
	k := len(p)
	if r.n > 0 && int64(k) > r.n {
		k = int(r.n)
	}
	for i := range p[:k] {
		p[i] = r.fill
	}
	if r.n > 0 {
		r.n -= int64(k)
	}
	r.read += int64(k)
	if r.onRead != nil {
		r.onRead(r.read)
	}
	return k, nil
}

// A 200 MB line without a newline is not buffered whole: the reader keeps
// at most MaxLineBytes of it (allocation is measured, not time).
func TestEnormousLine(t *testing.T) {
	const size = 200 << 20
	src := &repeatReader{fill: 'a', n: size, tail: strings.NewReader("\nTEST-UNEXPECTED-FAIL | after\n")}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := ParseErrors(context.Background(), src, Options{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB to parse a %d MiB line", alloc>>20, size>>20)
	}
	checkErrors(t, s.Errors, errs(1, "TEST-UNEXPECTED-FAIL | after"))
	if s.Lines != 2 || s.LongLines != 1 || s.Bytes != size+int64(len("\nTEST-UNEXPECTED-FAIL | after\n")) {
		t.Errorf("lines %d, long %d, bytes %d", s.Lines, s.LongLines, s.Bytes)
	}
	// The head of a long line is still classified, and a long line with
	// PERFHERDER_DATA gives no blob (it would be cut).
	head := "TEST-UNEXPECTED-FAIL PERFHERDER_DATA: {\"a\": 1}"
	src = &repeatReader{fill: 'b', n: 3 << 20, tail: strings.NewReader("}\n")}
	s, err = ParseErrors(context.Background(), io.MultiReader(strings.NewReader(head), src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Errors) != 1 || len(s.Errors[0].Line) != DefaultMaxLineBytes || s.PerfRejected != 1 || len(s.PerfData) != 0 {
		t.Errorf("long perf line: %d errors, perf %d/%d rejected", len(s.Errors), len(s.PerfData), s.PerfRejected)
	}
}

// A log that never ends stops when its context is cancelled.
func TestNeverEndingLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &repeatReader{fill: '\n', n: -1, onRead: func(read int64) {
		if read > 50<<20 {
			cancel()
		}
	}}
	s, err := ParseErrors(ctx, src, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if s.Bytes > 51<<20 {
		t.Errorf("read %d bytes after cancellation", s.Bytes)
	}
}

func TestMaxBytes(t *testing.T) {
	log := syntheticLog(3000)
	s, err := ParseErrors(context.Background(), bytes.NewReader(log), Options{MaxBytes: int64(len(log) / 2)})
	var tl *TooLargeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Limit != int64(len(log)/2) {
		t.Fatalf("err = %v", err)
	}
	if s.Bytes != int64(len(log)/2) || len(s.Errors) == 0 || s.Lines >= 3000 {
		t.Errorf("bytes %d, errors %d, lines %d", s.Bytes, len(s.Errors), s.Lines)
	}
	// Exactly at the limit is fine.
	if _, err := ParseErrors(context.Background(), bytes.NewReader(log), Options{MaxBytes: int64(len(log))}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("TEST-UNEXPECTED-FAIL | a\nTEST-UNEXPECTED-FAIL | partial"), iotestErrReader{})
	s, err := ParseErrors(context.Background(), r, Options{})
	if err == nil || !strings.Contains(err.Error(), "read log: boom") {
		t.Fatalf("err = %v", err)
	}
	// The unfinished last line is not parsed.
	checkErrors(t, s.Errors, errs(0, "TEST-UNEXPECTED-FAIL | a"))
}

// A reader that returns no data and no error forever is an error, not a hang.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestStuckReader(t *testing.T) {
	if _, err := ParseErrors(context.Background(), stuckReader{}, Options{}); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v", err)
	}
}
