package parse

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// The benchmark corpus: every shared sample log (*.gz), decompressed and
// concatenated in name order (about 154 MB), and the same recompressed at
// gzip level 6.
var (
	corpusOnce           sync.Once
	corpusPlain, corpusZ []byte
	corpusErr            error
)

func loadBenchCorpus(b *testing.B) (plain, gz []byte) {
	b.Helper()
	dir := sharedLogs(b)
	corpusOnce.Do(func() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.gz"))
		sort.Strings(files)
		var buf bytes.Buffer
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				corpusErr = err
				return
			}
			zr, err := stdgzip.NewReader(bytes.NewReader(data))
			if err != nil {
				corpusErr = err
				return
			}
			if _, err := io.Copy(&buf, zr); err != nil {
				corpusErr = err
				return
			}
		}
		var zbuf bytes.Buffer
		zw, _ := stdgzip.NewWriterLevel(&zbuf, 6)
		zw.Write(buf.Bytes())
		zw.Close()
		corpusPlain, corpusZ = buf.Bytes(), zbuf.Bytes()
	})
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	return corpusPlain, corpusZ
}

// BenchmarkParseErrors: MB/s are of uncompressed log.
func BenchmarkParseErrors(b *testing.B) {
	plain, gz := loadBenchCorpus(b)
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := ParseErrors(context.Background(), bytes.NewReader(plain), Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain-uncapped", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := ParseErrors(context.Background(), bytes.NewReader(plain), Options{MaxErrors: -1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gzip", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			r, err := DetectAndDecompress(bytes.NewReader(gz))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ParseErrors(context.Background(), r, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGunzip compares the two pure-Go inflaters on the same data.
func BenchmarkGunzip(b *testing.B) {
	plain, gz := loadBenchCorpus(b)
	b.Run("compress-gzip", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			zr, _ := stdgzip.NewReader(bytes.NewReader(gz))
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("klauspost-gzip", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			zr, _ := kgzip.NewReader(bytes.NewReader(gz))
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLines is the line splitter alone; BenchmarkScan adds the
// prefilter scan of every line: the floor under ParseErrors.
func BenchmarkLines(b *testing.B) {
	plain, _ := loadBenchCorpus(b)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		lr := newLineReader(context.Background(), bytes.NewReader(plain), DefaultMaxLineBytes, 0)
		for {
			if _, _, ok := lr.next(); !ok {
				break
			}
		}
	}
}

func BenchmarkScan(b *testing.B) {
	plain, _ := loadBenchCorpus(b)
	b.SetBytes(int64(len(plain)))
	var hits int
	for b.Loop() {
		lr := newLineReader(context.Background(), bytes.NewReader(plain), DefaultMaxLineBytes, 0)
		hits = 0
		for {
			line, _, ok := lr.next()
			if !ok {
				break
			}
			if defaultMatcher.scan(line) != 0 {
				hits++
			}
		}
	}
	b.ReportMetric(float64(hits), "candidates")
}

// BenchmarkErrorSummary: every errorsummary sample line, repeated to about
// 40 MB; "cutoff" is Treeherder's 150, "all" parses every line.
func BenchmarkErrorSummary(b *testing.B) {
	dir := sharedLogs(b)
	files, _ := filepath.Glob(filepath.Join(dir, "*errorsummary*.log"))
	sort.Strings(files)
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
	}
	unit := strings.Join(lines, "\n") + "\n"
	data := []byte(strings.Repeat(unit, 40<<20/len(unit)+1))
	for _, tc := range []struct {
		name   string
		cutoff int
	}{{"cutoff", 0}, {"all", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseErrorSummary(context.Background(), bytes.NewReader(data), SummaryOptions{Cutoff: tc.cutoff}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
