package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file in the plugin directory that pins each
// plugin binary's SHA-256 (like Terraform's .terraform.lock.hcl).
const LockFileName = "herder.plugins.lock.hcl"

// maxLockFile bounds the lock file we read.
const maxLockFile = 4 << 20

// LockEntry is one pinned plugin.
type LockEntry struct {
	Name string `json:"name"`
	// Path is the binary, relative to the plugin directory or absolute.
	Path     string `json:"path"`
	SHA256   string `json:"sha256"`
	Kind     string `json:"kind,omitempty"`
	Version  string `json:"version,omitempty"`
	Protocol int    `json:"protocol,omitempty"`
}

// LockFile is the parsed lock file.
type LockFile struct {
	// Path is the lock file's location; Dir is the plugin directory.
	Path    string
	Dir     string
	entries map[string]LockEntry
}

type lockHCL struct {
	Plugins []lockPluginHCL `hcl:"plugin,block"`
}

type lockPluginHCL struct {
	Name     string `hcl:"name,label"`
	Path     string `hcl:"path"`
	SHA256   string `hcl:"sha256"`
	Kind     string `hcl:"kind,optional"`
	Version  string `hcl:"version,optional"`
	Protocol int    `hcl:"protocol,optional"`
}

// ReadLockFile reads the lock file of a plugin directory. A missing file is
// an empty lock file.
func ReadLockFile(pluginDir string) (*LockFile, error) {
	lf := &LockFile{Path: filepath.Join(pluginDir, LockFileName), Dir: pluginDir, entries: map[string]LockEntry{}}
	f, err := os.Open(lf.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxLockFile+1))
	if err != nil {
		return nil, fmt.Errorf("read lock file %s: %w", lf.Path, err)
	}
	if len(src) > maxLockFile {
		return nil, fmt.Errorf("read lock file %s: larger than %d bytes", lf.Path, maxLockFile)
	}
	if err := lf.parse(src); err != nil {
		return nil, err
	}
	return lf, nil
}

func (lf *LockFile) parse(src []byte) error {
	file, diags := hclsyntax.ParseConfig(src, lf.Path, hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("parse lock file: %w", diags)
	}
	var doc lockHCL
	if diags := gohcl.DecodeBody(file.Body, nil, &doc); diags.HasErrors() {
		return fmt.Errorf("decode lock file: %w", diags)
	}
	for _, p := range doc.Plugins {
		if _, dup := lf.entries[p.Name]; dup {
			return fmt.Errorf("decode lock file %s: plugin %q is pinned twice", lf.Path, p.Name)
		}
		if err := ValidateName(p.Name); err != nil {
			return fmt.Errorf("decode lock file %s: %w", lf.Path, err)
		}
		sum := strings.ToLower(p.SHA256)
		if !validSum(sum) {
			return fmt.Errorf("decode lock file %s: plugin %q: sha256 %q is not 64 hex digits", lf.Path, p.Name, p.SHA256)
		}
		lf.entries[p.Name] = LockEntry{Name: p.Name, Path: p.Path, SHA256: sum, Kind: p.Kind, Version: p.Version, Protocol: p.Protocol}
	}
	return nil
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ValidateName checks a plugin name: letters, digits, '-', '_' and '.',
// not starting with '.'.
func ValidateName(name string) error {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return fmt.Errorf("invalid plugin name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("invalid plugin name %q: only letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// Entries returns the pinned plugins sorted by name.
func (lf *LockFile) Entries() []LockEntry {
	out := make([]LockEntry, 0, len(lf.entries))
	for _, e := range lf.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns the entry of a plugin.
func (lf *LockFile) Get(name string) (LockEntry, bool) {
	e, ok := lf.entries[name]
	return e, ok
}

// Set adds or replaces an entry.
func (lf *LockFile) Set(e LockEntry) { lf.entries[e.Name] = e }

// Remove drops an entry and reports whether there was one.
func (lf *LockFile) Remove(name string) bool {
	_, ok := lf.entries[name]
	delete(lf.entries, name)
	return ok
}

// BinaryPath returns an entry's binary as an absolute path.
func (lf *LockFile) BinaryPath(e LockEntry) string {
	if filepath.IsAbs(e.Path) {
		return e.Path
	}
	return filepath.Join(lf.Dir, e.Path)
}

// Write writes the lock file atomically (a temporary file renamed over it).
func (lf *LockFile) Write() error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{
		{Type: hclsyntax.TokenComment, Bytes: []byte("# This file is maintained by `herder plugins install/lock/remove`.\n")},
		{Type: hclsyntax.TokenComment, Bytes: []byte("# It pins the SHA-256 of every plugin binary; herder refuses to start a\n")},
		{Type: hclsyntax.TokenComment, Bytes: []byte("# plugin whose binary does not match.\n")},
	})
	for _, e := range lf.Entries() {
		body.AppendNewline()
		b := body.AppendNewBlock("plugin", []string{e.Name}).Body()
		b.SetAttributeValue("path", cty.StringVal(e.Path))
		b.SetAttributeValue("sha256", cty.StringVal(e.SHA256))
		if e.Kind != "" {
			b.SetAttributeValue("kind", cty.StringVal(e.Kind))
		}
		if e.Version != "" {
			b.SetAttributeValue("version", cty.StringVal(e.Version))
		}
		if e.Protocol != 0 {
			b.SetAttributeValue("protocol", cty.NumberIntVal(int64(e.Protocol)))
		}
	}
	if err := os.MkdirAll(lf.Dir, 0o755); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	tmp, err := os.CreateTemp(lf.Dir, ".lock-*.tmp")
	if err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write lock file %s: %w", lf.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write lock file %s: %w", lf.Path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write lock file %s: %w", lf.Path, err)
	}
	if err := os.Rename(tmp.Name(), lf.Path); err != nil {
		return fmt.Errorf("write lock file %s: %w", lf.Path, err)
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyBinary checks that the file at path has the pinned SHA-256. The
// error wraps ErrNoPin or ErrChecksumMismatch and names both sums.
func VerifyBinary(name, path, pinned string) error {
	if pinned == "" {
		return fmt.Errorf("plugin %s (%s): %w: add sha256 to its plugin block or run `herder plugins install %s`", name, path, ErrNoPin, path)
	}
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("plugin %s: checksum %s: %w", name, path, err)
	}
	if !strings.EqualFold(got, pinned) {
		return fmt.Errorf("plugin %s (%s): %w: pinned sha256 %s, binary has %s", name, path, ErrChecksumMismatch, strings.ToLower(pinned), got)
	}
	return nil
}
