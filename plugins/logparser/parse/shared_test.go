package parse

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedLogs returns the shared Treeherder sample-log folder, found from the
// module root (the folder holding go.mod) as ../shared/testdata/treeherder,
// or skips the test when it is absent.
func sharedLogs(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the package directory; shared test data not found")
		}
		dir = parent
	}
	logs := filepath.Join(dir, "..", "shared", "testdata", "treeherder", "logs")
	if _, err := os.Stat(logs); err != nil {
		tb.Skipf("shared Treeherder sample logs not found at %s: %v", logs, err)
	}
	return logs
}
