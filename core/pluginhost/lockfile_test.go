package pluginhost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	lf, err := ReadLockFile(dir)
	if err != nil || len(lf.Entries()) != 0 {
		t.Fatalf("missing lock file: %v, %v", lf.Entries(), err)
	}
	sum := strings.Repeat("ab", 32)
	lf.Set(LockEntry{Name: "pulse", Path: "pulse", SHA256: sum, Kind: "source", Version: "1.2.3", Protocol: 1})
	lf.Set(LockEntry{Name: "logparser", Path: "/opt/herder/logparser", SHA256: strings.ToUpper(sum), Kind: "processor"})
	if err := lf.Write(); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, LockFileName))
	for _, want := range []string{`plugin "pulse" {`, `sha256   = "` + sum + `"`, `kind     = "source"`, `protocol = 1`, "# This file is maintained by"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("lock file lacks %q:\n%s", want, src)
		}
	}
	if strings.Index(string(src), "logparser") > strings.Index(string(src), "pulse") {
		t.Error("entries not sorted by name")
	}
	back, err := ReadLockFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := back.Get("pulse")
	if !ok || e.Version != "1.2.3" || e.Protocol != 1 || back.BinaryPath(e) != filepath.Join(dir, "pulse") {
		t.Errorf("pulse = %+v", e)
	}
	lp, _ := back.Get("logparser")
	if lp.SHA256 != sum || back.BinaryPath(lp) != "/opt/herder/logparser" {
		t.Errorf("logparser = %+v (sums are lower-cased, absolute paths kept)", lp)
	}
	if !back.Remove("pulse") || back.Remove("pulse") {
		t.Error("Remove")
	}
}

func TestLockFileErrors(t *testing.T) {
	sum := strings.Repeat("0", 64)
	for name, src := range map[string]string{
		"syntax":      `plugin "a" {`,
		"bad sum":     `plugin "a" { path = "a"  sha256 = "xyz" }`,
		"no sum":      `plugin "a" { path = "a" }`,
		"duplicate":   `plugin "a" { path = "a"  sha256 = "` + sum + `" }` + "\n" + `plugin "a" { path = "a"  sha256 = "` + sum + `" }`,
		"bad name":    `plugin "../etc" { path = "a"  sha256 = "` + sum + `" }`,
		"unknown key": `plugin "a" { path = "a"  sha256 = "` + sum + `"  extra = 1 }`,
		"top level":   `x = 1`,
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, LockFileName), []byte(src), 0o644)
		if _, err := ReadLockFile(dir); err == nil {
			t.Errorf("%s: accepted %q", name, src)
		}
	}
}

func TestVerifyBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	os.WriteFile(path, []byte("hello"), 0o755)
	sum, _ := FileSHA256(path)
	if sum != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("sum = %s", sum)
	}
	if err := VerifyBinary("p", path, strings.ToUpper(sum)); err != nil {
		t.Error(err)
	}
	if err := VerifyBinary("p", path, strings.Repeat("0", 64)); !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), sum) {
		t.Errorf("mismatch: %v", err)
	}
	if err := VerifyBinary("p", path, ""); !errors.Is(err, ErrNoPin) {
		t.Errorf("no pin: %v", err)
	}
	if err := VerifyBinary("p", path+"x", sum); err == nil {
		t.Error("missing file verified")
	}
}

func FuzzLockFile(f *testing.F) {
	f.Add([]byte(`plugin "pulse" {
  path = "pulse"
  sha256 = "` + strings.Repeat("ab", 32) + `"
  kind = "source"
  protocol = 1
}`))
	f.Add([]byte(`plugin "a" { path = "${x}" sha256 = 1 }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		lf := &LockFile{Path: "fuzz.hcl", Dir: "/p", entries: map[string]LockEntry{}}
		if lf.parse(src) != nil {
			return
		}
		for _, e := range lf.Entries() {
			if !validSum(e.SHA256) || ValidateName(e.Name) != nil {
				t.Errorf("accepted entry %+v", e)
			}
		}
	})
}
