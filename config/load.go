package config

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// BuiltinFilename names the built-in default configuration in Config.Filename
// and in diagnostics.
const BuiltinFilename = "<built-in>"

// SeedFilename names the built-in repository list in diagnostics.
const SeedFilename = "<built-in>/seed/repositories.hcl"

// maxFileSize bounds a configuration file; real ones are a few KiB.
const maxFileSize = 4 << 20

//go:embed default.hcl
var defaultSrc []byte

//go:embed seed/repositories.hcl
var seedSrc []byte

// options say where relative paths resolve.
type options struct {
	filename   string
	pluginBase string // plugin_dir resolves here; also Config.Dir
	dataBase   string // data_dir and relative sqlite paths resolve here
	seed       bool   // parsing the seed list itself: no built-in groups to fall back on
}

// Load reads and checks the configuration file at path. Relative paths in it
// resolve against the file's directory. The Config is nil when the
// diagnostics hold an error; warnings come with a usable Config.
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := readBounded(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   err.Error(),
		}}
	}
	return Parse(src, path)
}

// Parse checks configuration source as if it were the file filename: relative
// paths resolve against filename's directory, and diagnostics name filename.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	dir := filepath.Dir(filename)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return parse(src, options{filename: filename, pluginBase: dir, dataBase: dir})
}

// Default returns the built-in configuration (config/default.hcl), used when
// no --config is given: plugins come from "plugins" beside the herder
// executable, data goes to "data" under the current directory.
func Default() (*Config, hcl.Diagnostics) {
	exeDir, cwd := ".", "."
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		exeDir = filepath.Dir(exe)
	}
	if wd, err := os.Getwd(); err == nil {
		cwd = wd
	}
	return parse(defaultSrc, options{filename: BuiltinFilename, pluginBase: exeDir, dataBase: cwd})
}

// DefaultSource is the text of the built-in configuration, for `herder config
// init`-style commands and documentation.
func DefaultSource() []byte { return slices.Clone(defaultSrc) }

var seed struct {
	once   sync.Once
	groups []RepositoryGroup
	repos  []Repository
	err    error
}

func loadSeed() {
	cfg, diags := parse(seedSrc, options{filename: SeedFilename, pluginBase: ".", dataBase: ".", seed: true})
	if diags.HasErrors() {
		var b strings.Builder
		_ = WriteDiagnostics(&b, nil, diags)
		seed.err = fmt.Errorf("built-in seed repositories are invalid:\n%s", b.String())
		return
	}
	seed.groups, seed.repos = cfg.RepoGroups, cfg.Repos
}

// SeedRepositories returns herder's built-in list of well-known Mozilla
// repository groups and repositories, in the order the store must insert them
// (each carries its fixed ID). The slices are the caller's to modify.
func SeedRepositories() ([]RepositoryGroup, []Repository, error) {
	seed.once.Do(loadSeed)
	if seed.err != nil {
		return nil, nil, seed.err
	}
	groups := slices.Clone(seed.groups)
	repos := make([]Repository, len(seed.repos))
	for i, r := range seed.repos {
		r.Branches = slices.Clone(r.Branches)
		if r.LifeCycleOrder != nil {
			n := *r.LifeCycleOrder
			r.LifeCycleOrder = &n
		}
		repos[i] = r
	}
	return groups, repos, nil
}

// seedGroupNames lists the built-in group names an operator's repositories
// may use without declaring them.
func seedGroupNames() map[string]bool {
	seed.once.Do(loadSeed)
	names := make(map[string]bool, len(seed.groups))
	for _, g := range seed.groups {
		names[g.Name] = true
	}
	return names
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(src) > maxFileSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", path, maxFileSize)
	}
	return src, nil
}

// resolve makes p absolute against base, leaving absolute paths alone.
func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func parse(src []byte, o options) (*Config, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, o.filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	d := &decoder{ctx: evalContext(), diags: diags}
	cfg := d.decodeFile(file.Body, o)
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	return cfg, d.diags
}
