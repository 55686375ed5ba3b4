package parse

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseFile(t testing.TB, path string, opts Options) *Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := DetectAndDecompress(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseErrors(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// Every *.log.gz with a *.logview.json yields exactly the fixture's errors.
func TestLogviewFixtures(t *testing.T) {
	dir := sharedLogs(t)
	fixtures, err := filepath.Glob(filepath.Join(dir, "*.logview.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) == 0 {
		t.Skip("no *.logview.json in the shared data")
	}
	for _, fx := range fixtures {
		name := strings.TrimSuffix(filepath.Base(fx), ".logview.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(fx)
			if err != nil {
				t.Fatal(err)
			}
			var want LogView
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			modes := []checkMode{checkPrefilter, checkEveryLine}
			if st, err := os.Stat(filepath.Join(dir, name+".log.gz")); err == nil && st.Size() < 200<<10 {
				// Go's regexp runs Treeherder's alternations at a few MB/s:
				// check them against the small logs only.
				modes = append(modes, checkReference)
			}
			for _, mode := range modes {
				s := parseFile(t, filepath.Join(dir, name+".log.gz"), Options{check: mode})
				got := LogView{LogURL: want.LogURL, Errors: s.Errors}
				if len(got.Errors) != len(want.Errors) {
					t.Errorf("mode %d: %d errors, want %d", mode, len(got.Errors), len(want.Errors))
				}
				for i := range max(len(got.Errors), len(want.Errors)) {
					var g, w any
					if i < len(got.Errors) {
						g = got.Errors[i]
					}
					if i < len(want.Errors) {
						w = want.Errors[i]
					}
					if g != w {
						t.Errorf("mode %d: error %d:\n got  %+v\n want %+v", mode, i, g, w)
					}
				}
				// The bytes are the fixture's: json.dumps(indent=2) + "\n".
				if got := got.PythonJSON(); string(got) != string(raw) {
					t.Errorf("mode %d: PythonJSON differs from the fixture file:\n%s", mode, got)
				}
			}
		})
	}
}

// The perf sample logs give Treeherder's 5/4/2 PERFHERDER_DATA blobs.
func TestPerfBlobCounts(t *testing.T) {
	dir := sharedLogs(t)
	for name, want := range map[string]int{
		"android-opt-build.txt.gz":        5,
		"win-aarch64-build.txt.gz":        4,
		"linux-awsy.txt.gz":               2,
		"geckodriver-sigining-mac.txt.gz": 0,
	} {
		t.Run(name, func(t *testing.T) {
			s := parseFile(t, filepath.Join(dir, name), Options{})
			if len(s.PerfData) != want || s.PerfRejected != 0 {
				t.Fatalf("%d blobs (%d rejected), want %d", len(s.PerfData), s.PerfRejected, want)
			}
			for i, b := range s.PerfData {
				var v map[string]any
				if err := json.Unmarshal(b, &v); err != nil || len(v) == 0 {
					t.Errorf("blob %d: not a non-empty object: %v", i, err)
				}
				if _, ok := v["framework"]; !ok {
					t.Errorf("blob %d has no framework: %.200s", i, b)
				}
			}
		})
	}
}
