// Command logbench measures the log parser on a corpus of about 200 MB built
// from the shared Treeherder sample logs, side by side with `zcat | wc -l` on
// the same gzip data, and prints a Markdown table.
//
// Each measurement runs in a child process (this binary re-executed with
// -child) so that its peak RSS (VmHWM from /proc/self/status) is its own and
// GOMAXPROCS can be set per run. Reported times are the median wall time of
// the parse inside the child (process start-up excluded); MB are 10^6 bytes
// of uncompressed log.
//
//	logbench [-logs DIR] [-size 200] [-runs 3] [-dir TMP] [-keep] [-md FILE]
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/herder-ci/herder/plugins/logparser/parse"
)

// result is what a child reports.
type result struct {
	Bytes   int64   `json:"bytes"` // uncompressed bytes processed
	Lines   int64   `json:"lines"`
	Errors  int     `json:"errors"`
	Perf    int     `json:"perf"`
	Seconds float64 `json:"seconds"`
	HWMKB   int64   `json:"hwm_kb"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "logbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		logs    = flag.String("logs", "", "shared sample-log folder (default: ../shared/testdata/treeherder/logs from the module root)")
		sizeMB  = flag.Int("size", 200, "corpus size in MB of uncompressed log")
		runs    = flag.Int("runs", 3, "runs per measurement (median reported)")
		dir     = flag.String("dir", "", "work folder for the corpus (default: a new temporary folder)")
		keep    = flag.Bool("keep", false, "keep the work folder")
		mdOut   = flag.String("md", "", "also write the Markdown table to this file")
		child   = flag.String("child", "", "internal: run one measurement")
		workers = flag.Int("workers", 1, "internal: parallel parses for -child many-*")
	)
	flag.Parse()
	if *child != "" {
		return runChild(*child, flag.Args(), *workers)
	}

	if *logs == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		*logs = filepath.Join(root, "..", "shared", "testdata", "treeherder", "logs")
	}
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "logbench-"); err != nil {
			return err
		}
	}
	if !*keep && *dir == "" {
		defer os.RemoveAll(work)
	}
	fmt.Fprintf(os.Stderr, "building a %d MB corpus from %s in %s\n", *sizeMB, *logs, work)
	c, err := buildCorpus(*logs, work, int64(*sizeMB)*1e6)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ncpu := runtime.NumCPU()
	type step struct {
		name, input string
		procs       int
		args        []string // child arguments, or
		shell       string   // a shell pipeline timed from here
		bytes       int64    // uncompressed bytes, for shell steps
		note        string
		res         []result
	}
	many := strconv.Itoa(ncpu)
	steps := []*step{
		{name: "ParseErrors, one log, plain", input: "corpus", procs: 1, args: []string{"-child", "parse", c.plain}},
		{name: "ParseErrors, one log, gzip", input: "corpus.gz", procs: 1, args: []string{"-child", "parse", c.gz}},
		{name: "ParseErrors, one log, plain, no 40-error cap", input: "corpus", procs: 1, args: []string{"-child", "parse-uncapped", c.plain}},
		{name: "ParseErrors, many logs, plain, 1 worker", input: c.manyDesc, procs: 1, args: append([]string{"-child", "many", "-workers", "1"}, c.manyPlain...)},
		{name: "ParseErrors, many logs, gzip, 1 worker", input: c.manyDesc + " (.gz)", procs: 1, args: append([]string{"-child", "many", "-workers", "1"}, c.manyGz...)},
		{name: "ParseErrors, many logs, plain, " + many + " workers", input: c.manyDesc, procs: ncpu, args: append([]string{"-child", "many", "-workers", many}, c.manyPlain...)},
		{name: "ParseErrors, many logs, gzip, " + many + " workers", input: c.manyDesc + " (.gz)", procs: ncpu, args: append([]string{"-child", "many", "-workers", many}, c.manyGz...)},
		{name: "`zcat corpus.gz \\| wc -l`", input: "corpus.gz", procs: 1, shell: "zcat " + shellQuote(c.gz) + " | wc -l", bytes: c.plainSize, note: "floor"},
		{name: "`zcat <many logs> \\| wc -l`", input: c.manyDesc + " (.gz)", procs: 1, shell: "zcat " + strings.Join(quoteAll(c.manyGz), " ") + " | wc -l", bytes: c.manyBytes, note: "floor"},
		{name: "`wc -l corpus`", input: "corpus", procs: 1, shell: "wc -l < " + shellQuote(c.plain), bytes: c.plainSize, note: "floor"},
		{name: "gunzip only, compress/gzip", input: "corpus.gz", procs: 1, args: []string{"-child", "gunzip-std", c.gz}},
		{name: "gunzip only, klauspost/compress/gzip", input: "corpus.gz", procs: 1, args: []string{"-child", "gunzip-klauspost", c.gz}},
		{name: "ParseErrors, one 1 GiB line, no newline", input: "generated", procs: 1, args: []string{"-child", "longline"}},
		{name: "ParseErrorSummary, cutoff 150", input: "errorsummary corpus", procs: 1, args: []string{"-child", "summary", c.summary}},
		{name: "ParseErrorSummary, no cutoff", input: "errorsummary corpus", procs: 1, args: []string{"-child", "summary-all", c.summary},
			note: "keeps all parsed lines"},
	}
	// Warm the page cache so that every run reads from memory, then run
	// the steps round-robin, so that a burst of load from elsewhere on the
	// machine spreads over all of them instead of hitting one.
	for _, f := range append([]string{c.plain, c.gz, c.summary}, c.units...) {
		if err := warm(f); err != nil {
			return err
		}
	}
	load0 := loadAvg()
	for i := range *runs {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", i+1, *runs)
		for _, st := range steps {
			var r result
			var err error
			if st.shell != "" {
				r.Bytes = st.bytes
				r.Seconds, err = timeShell(st.shell)
			} else {
				r, err = runOnce(self, st.procs, st.args)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			st.res = append(st.res, r)
		}
	}
	load1 := loadAvg()

	var md strings.Builder
	fmt.Fprintf(&md, "Corpus: %s; the same as one gzip file (level 6): %.1f MB. Machine: %s, %d CPUs, %s. "+
		"%d rounds; load average %s before, %s after. MB = 10^6 bytes of uncompressed log; MB/s from the median "+
		"time, best from the fastest run; RSS is the highest VmHWM of the runs.\n\n",
		c.desc, float64(c.gzSize)/1e6, cpuModel(), ncpu, runtime.Version(), *runs, load0, load1)
	md.WriteString("| run | input | GOMAXPROCS | MB | median s | MB/s | best MB/s | peak RSS MB | lines | errors | perf blobs |\n")
	md.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, st := range steps {
		med, best, hwm := summarize(st.res)
		rss, lines, errs, perf := "-", "-", "-", "-"
		if st.shell == "" {
			rss = fmt.Sprintf("%.1f", float64(hwm)/1024)
			lines = strconv.FormatInt(med.Lines, 10)
			errs = strconv.Itoa(med.Errors)
			perf = strconv.Itoa(med.Perf)
			if st.note != "" {
				rss += " (" + st.note + ")"
			}
		}
		mb := float64(med.Bytes) / 1e6
		fmt.Fprintf(&md, "| %s | %s | %d | %.1f | %.3f | %.0f | %.0f | %s | %s | %s | %s |\n",
			st.name, st.input, st.procs, mb, med.Seconds, mb/med.Seconds, mb/best.Seconds, rss, lines, errs, perf)
	}
	fmt.Print(md.String())
	if *mdOut != "" {
		return os.WriteFile(*mdOut, []byte(md.String()), 0o644)
	}
	return nil
}

// summarize returns the median and the fastest run, and the highest RSS.
func summarize(rs []result) (med, best result, hwm int64) {
	sorted := slices.Clone(rs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seconds < sorted[j].Seconds })
	for _, r := range rs {
		hwm = max(hwm, r.HWMKB)
	}
	return sorted[len(sorted)/2], sorted[0], hwm
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

type corpus struct {
	plain, gz           string   // one big log
	plainSize, gzSize   int64    // bytes
	units               []string // each sample log, plain and gzip
	manyPlain, manyGz   []string // the sample logs repeated to the corpus size
	manyBytes           int64
	manyDesc, desc      string
	summary             string // errorsummary corpus
	summarySize         int64
	unitPlain, unitGzip []string
}

// buildCorpus writes, in work: plain/<name> and gz/<name>.gz for every
// sample log; corpus.log (the sample logs concatenated in name order,
// repeated until at least size bytes) and corpus.log.gz; summary.log (every
// errorsummary sample line, repeated to about size bytes).
func buildCorpus(logs, work string, size int64) (*corpus, error) {
	files, err := filepath.Glob(filepath.Join(logs, "*.gz"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no *.gz sample logs in %s", logs)
	}
	sort.Strings(files)
	c := &corpus{}
	for _, d := range []string{"plain", "gz"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	var unitBytes int64
	var unitSizes []int64
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".gz")
		plain := filepath.Join(work, "plain", name)
		n, err := gunzipTo(f, plain)
		if err != nil {
			return nil, err
		}
		gz := filepath.Join(work, "gz", name+".gz")
		if err := copyFile(f, gz); err != nil {
			return nil, err
		}
		c.unitPlain = append(c.unitPlain, plain)
		c.unitGzip = append(c.unitGzip, gz)
		c.units = append(c.units, plain, gz)
		unitSizes = append(unitSizes, n)
		unitBytes += n
	}
	// Both corpora cycle through the sample logs in name order until they
	// reach size: the same bytes as one log and as many.
	for i := 0; c.manyBytes < size; i = (i + 1) % len(c.unitPlain) {
		c.manyPlain = append(c.manyPlain, c.unitPlain[i])
		c.manyGz = append(c.manyGz, c.unitGzip[i])
		c.manyBytes += unitSizes[i]
	}
	c.manyDesc = fmt.Sprintf("%d logs", len(c.manyPlain))

	c.plain = filepath.Join(work, "corpus.log")
	c.gz = c.plain + ".gz"
	out, err := os.Create(c.plain)
	if err != nil {
		return nil, err
	}
	gzf, err := os.Create(c.gz)
	if err != nil {
		return nil, err
	}
	zw, _ := gzip.NewWriterLevel(gzf, 6)
	w := io.MultiWriter(out, zw)
	for _, p := range c.manyPlain {
		n, err := appendFile(w, p)
		if err != nil {
			return nil, err
		}
		c.plainSize += n
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := errors.Join(out.Close(), gzf.Close()); err != nil {
		return nil, err
	}
	st, err := os.Stat(c.gz)
	if err != nil {
		return nil, err
	}
	c.gzSize = st.Size()
	c.desc = fmt.Sprintf("the %d shared sample logs (%.1f MB uncompressed) concatenated in name order, cycling, "+
		"up to %d logs = %.1f MB", len(c.unitPlain), float64(unitBytes)/1e6, len(c.manyPlain), float64(c.plainSize)/1e6)

	// The errorsummary corpus.
	sums, _ := filepath.Glob(filepath.Join(logs, "*errorsummary*.log"))
	sort.Strings(sums)
	var unit bytes.Buffer
	for _, f := range sums {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				unit.WriteString(l)
				unit.WriteByte('\n')
			}
		}
	}
	c.summary = filepath.Join(work, "errorsummary.log")
	sf, err := os.Create(c.summary)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(sf, 1<<20)
	for c.summarySize < size && unit.Len() > 0 {
		bw.Write(unit.Bytes())
		c.summarySize += int64(unit.Len())
	}
	if err := errors.Join(bw.Flush(), sf.Close()); err != nil {
		return nil, err
	}
	return c, nil
}

func gunzipTo(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, zr)
	return n, errors.Join(err, out.Close())
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

func appendFile(w io.Writer, src string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	return io.Copy(w, in)
}

func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// runOnce runs one child measurement.
func runOnce(self string, procs int, args []string) (result, error) {
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("child output %q: %w", out, err)
	}
	return r, nil
}

// timeShell times a shell pipeline (process start-up included, a few ms).
func timeShell(script string) (float64, error) {
	start := time.Now()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", script, err, out)
	}
	return time.Since(start).Seconds(), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = shellQuote(s)
	}
	return out
}

// runChild performs one measurement and prints its result as JSON.
func runChild(mode string, args []string, workers int) error {
	ctx := context.Background()
	var r result
	start := time.Now()
	switch mode {
	case "parse", "parse-uncapped":
		opts := parse.Options{}
		if mode == "parse-uncapped" {
			opts.MaxErrors = -1
		}
		s, err := parseFile(ctx, args[0], opts)
		if err != nil {
			return err
		}
		r = result{Bytes: s.Bytes, Lines: s.Lines, Errors: len(s.Errors), Perf: len(s.PerfData)}
	case "many":
		jobs := make(chan string)
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for f := range jobs {
					s, err := parseFile(ctx, f, parse.Options{})
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					if s != nil {
						r.Bytes += s.Bytes
						r.Lines += s.Lines
						r.Errors += len(s.Errors)
						r.Perf += len(s.PerfData)
					}
					mu.Unlock()
				}
			})
		}
		for _, f := range args {
			jobs <- f
		}
		close(jobs)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
	case "gunzip-std", "gunzip-klauspost":
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		var zr io.Reader
		if mode == "gunzip-std" {
			zr, err = gzip.NewReader(f)
		} else {
			zr, err = kgzip.NewReader(f)
		}
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil {
			return err
		}
		r.Bytes = n
	case "longline":
		const size = 1 << 30
		s, err := parse.ParseErrors(ctx, io.LimitReader(fillReader('a'), size), parse.Options{})
		if err != nil {
			return err
		}
		r = result{Bytes: s.Bytes, Lines: s.Lines, Errors: len(s.Errors)}
	case "summary", "summary-all":
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		opts := parse.SummaryOptions{}
		if mode == "summary-all" {
			opts.Cutoff = -1
		}
		es, err := parse.ParseErrorSummary(ctx, f, opts)
		if err != nil {
			return err
		}
		r = result{Bytes: es.Bytes, Lines: int64(es.Lines), Errors: len(es.FailureLines) + len(es.Groups)}
	default:
		return fmt.Errorf("unknown child mode %q", mode)
	}
	r.Seconds = time.Since(start).Seconds()
	r.HWMKB = vmHWM()
	return json.NewEncoder(os.Stdout).Encode(r)
}

func parseFile(ctx context.Context, path string, opts parse.Options) (*parse.Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := parse.DetectAndDecompress(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := parse.ParseErrors(ctx, r, opts)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

type fillReader byte

func (c fillReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// vmHWM is the process's peak resident set size in KiB.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return -1
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return runtime.GOARCH
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the current folder; pass -logs")
		}
		dir = parent
	}
}
