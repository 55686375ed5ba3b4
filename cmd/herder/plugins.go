package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/sdk/pluginrpc"
	"github.com/herder-ci/herder/server"
)

func init() { rootCmd.AddCommand(newPluginsCmd()) }

// resetFlags puts a command's flags back to their defaults after it ran:
// run() may be called several times in one process (tests), and cobra keeps
// flag values between executions.
func resetFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		_ = f.Value.Set(f.DefValue)
		f.Changed = false
	})
}

func newPluginsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Install, pin, verify and manage source and processor plugins",
		Long: "Plugins are binaries in the plugin directory (plugin_dir, default: \"plugins\" beside the\n" +
			"herder executable). herder.plugins.lock.hcl in that directory pins each one's SHA-256; herder\n" +
			"refuses to start a plugin whose binary does not match. status and reload talk to a running server.",
	}
	cmd.AddCommand(newPluginsListCmd(), newPluginsInstallCmd(), newPluginsLockCmd(), newPluginsVerifyCmd(),
		newPluginsRemoveCmd(), newPluginsStatusCmd(), newPluginsReloadCmd())
	return cmd
}

// pluginRow is one line of `plugins list`.
type pluginRow struct {
	Name     string `json:"name"`
	Kind     string `json:"kind,omitempty"`
	Version  string `json:"version,omitempty"`
	Protocol int    `json:"protocol,omitempty"`
	Path     string `json:"path"`
	SHA256   string `json:"sha256,omitempty"`
	// PinnedBy is "lock" or "config" (a sha256 in the plugin block, which
	// wins over the lock file), or empty when nothing pins the binary.
	PinnedBy string `json:"pinned_by,omitempty"`
	// Verified is "ok", "mismatch", "missing" or "unpinned".
	Verified string `json:"verified"`
	Actual   string `json:"actual_sha256,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// pluginRows collects every plugin the config or the lock file knows, plus
// unpinned executables lying in the plugin directory, and checks each sum.
func pluginRows(cfg *config.Config) ([]pluginRow, error) {
	lf, err := pluginhost.ReadLockFile(cfg.PluginDir)
	if err != nil {
		return nil, err
	}
	var rows []pluginRow
	seen := map[string]bool{}
	byPath := map[string]bool{}
	for _, e := range lf.Entries() {
		r := pluginRow{Name: e.Name, Kind: e.Kind, Version: e.Version, Protocol: e.Protocol,
			Path: lf.BinaryPath(e), SHA256: e.SHA256, PinnedBy: "lock"}
		for _, p := range cfg.Plugins {
			if p.Name == e.Name && p.Path != "" {
				r.Path = p.Path
			}
			if p.Name == e.Name && p.SHA256 != "" {
				r.SHA256, r.PinnedBy = p.SHA256, "config"
			}
		}
		rows = append(rows, r)
		seen[e.Name] = true
	}
	for _, p := range cfg.Plugins {
		if seen[p.Name] {
			continue
		}
		r := pluginRow{Name: p.Name, Path: p.Path, SHA256: p.SHA256}
		if p.SHA256 != "" {
			r.PinnedBy = "config"
		}
		rows = append(rows, r)
		seen[p.Name] = true
	}
	for _, r := range rows {
		byPath[r.Path] = true
	}
	entries, err := os.ReadDir(cfg.PluginDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read plugin dir: %w", err)
	}
	for _, de := range entries {
		path := filepath.Join(cfg.PluginDir, de.Name())
		if seen[de.Name()] || byPath[path] || !isPluginCandidate(de) {
			continue
		}
		rows = append(rows, pluginRow{Name: de.Name(), Path: path})
	}
	for i := range rows {
		checkRow(&rows[i])
	}
	return rows, nil
}

// isPluginCandidate reports whether a directory entry looks like a plugin
// binary: a regular executable file that is not the lock file or hidden.
func isPluginCandidate(de fs.DirEntry) bool {
	if de.Name() == pluginhost.LockFileName || strings.HasPrefix(de.Name(), ".") || !de.Type().IsRegular() {
		return false
	}
	info, err := de.Info()
	return err == nil && info.Mode().Perm()&0o111 != 0
}

func checkRow(r *pluginRow) {
	sum, err := pluginhost.FileSHA256(r.Path)
	switch {
	case err != nil:
		r.Verified, r.Problem = "missing", err.Error()
	case r.SHA256 == "":
		r.Verified, r.Actual = "unpinned", sum
	case strings.EqualFold(sum, r.SHA256):
		r.Verified = "ok"
	default:
		r.Verified, r.Actual = "mismatch", sum
		r.Problem = fmt.Sprintf("pinned sha256 %s, file has %s", r.SHA256, sum)
	}
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func newPluginsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List plugins: name, kind, version, protocol, path, sha256 and whether the binary matches its pin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			rows, err := pluginRows(cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if rows == nil {
					rows = []pluginRow{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(out, "no plugins in %s\n", cfg.PluginDir)
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPROTOCOL\tSHA256\tVERIFIED\tPATH")
			for _, r := range rows {
				proto := ""
				if r.Protocol != 0 {
					proto = fmt.Sprint(r.Protocol)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Kind), dash(r.Version), dash(proto),
					dash(short(r.SHA256)), r.Verified, r.Path)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// probeTimeout bounds launching a plugin to read its handshake.
const probeTimeout = 30 * time.Second

// installPlugin puts the binary at src into the plugin directory as name
// (unless it is already there), launches it once to learn its kind and
// version through the handshake, and pins its sum in the lock file.
func installPlugin(ctx context.Context, cfg *config.Config, src, name string) (pluginhost.LockEntry, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
	}
	if !info.Mode().IsRegular() {
		return pluginhost.LockEntry{}, usageError(fmt.Errorf("install %s: not a regular file", src))
	}
	if name == "" {
		name = filepath.Base(abs)
	}
	if err := pluginhost.ValidateName(name); err != nil {
		return pluginhost.LockEntry{}, usageError(fmt.Errorf("install %s: %w (use --name)", src, err))
	}
	dir, err := filepath.Abs(cfg.PluginDir)
	if err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: create plugin dir: %w", src, err)
	}
	dest := filepath.Join(dir, name)
	probe := abs
	var tmp string
	if abs != dest {
		// Copy next to the destination and probe the copy, so a binary that
		// is not a plugin never replaces an installed one.
		tmp, err = copyExecutable(abs, dir)
		if err != nil {
			return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
		}
		defer os.Remove(tmp)
		probe = tmp
	}
	sum, err := pluginhost.FileSHA256(probe)
	if err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
	}
	pinfo, err := probePlugin(ctx, name, probe, sum)
	if err != nil {
		return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
	}
	if tmp != "" {
		if err := os.Rename(tmp, dest); err != nil {
			return pluginhost.LockEntry{}, fmt.Errorf("install %s: %w", src, err)
		}
	}
	lf, err := pluginhost.ReadLockFile(dir)
	if err != nil {
		return pluginhost.LockEntry{}, err
	}
	e := pluginhost.LockEntry{Name: name, Path: name, SHA256: sum, Kind: string(pinfo.Kind), Version: pinfo.Version, Protocol: pinfo.Protocol}
	lf.Set(e)
	if err := lf.Write(); err != nil {
		return pluginhost.LockEntry{}, err
	}
	return e, nil
}

func copyExecutable(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".install-*")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	if err := os.Chmod(out.Name(), 0o755); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// probePlugin launches a plugin once, reads what it is, and stops it.
func probePlugin(ctx context.Context, name, path, sum string) (pluginrpc.Info, error) {
	c, err := pluginrpc.Start(ctx, pluginrpc.Config{
		Name:         name,
		Path:         path,
		SHA256:       mustHex(sum),
		StartTimeout: probeTimeout,
		LogLevel:     "warn",
	})
	if err != nil {
		return pluginrpc.Info{}, err
	}
	defer c.Kill()
	return c.Info(), nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

func newPluginsInstallCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "install PATH",
		Short: "Copy a plugin binary into the plugin directory and pin its SHA-256 in the lock file",
		Long: "install copies PATH into the plugin directory as NAME (default: the file's name) unless it is\n" +
			"already there, launches it once to read its kind and version through the plugin handshake, and\n" +
			"pins its SHA-256 in herder.plugins.lock.hcl. Installing over an existing plugin upgrades it; a\n" +
			"running server picks the new binary up on `herder plugins reload NAME`.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("plugins install takes one PATH, got %d", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			n := name
			defer resetFlags(cmd)
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			e, err := installPlugin(cmd.Context(), cfg, args[0], n)
			if err != nil {
				return err
			}
			for _, p := range cfg.Plugins {
				if p.Name == e.Name && p.SHA256 != "" && p.SHA256 != e.SHA256 {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: the plugin %q block in %s pins sha256 %s, which wins over the lock file; update or remove it\n",
						p.Name, cfg.Filename, p.SHA256)
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "installed %s: %s %s (protocol %d), sha256 %s\n", e.Name, e.Kind, e.Version, e.Protocol, e.SHA256)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "plugin name (default: the file name)")
	return cmd
}

func newPluginsLockCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lock [PATH...]",
		Short: "Pin the plugin binaries already in the plugin directory (all of them without arguments)",
		Long: "lock refreshes the lock file entries of plugins that are already in the plugin directory: it\n" +
			"launches each once to read its kind and version and pins its current SHA-256. `make build`\n" +
			"runs it after building the plugins into bin/plugins.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			paths := args
			if len(paths) == 0 {
				entries, err := os.ReadDir(cfg.PluginDir)
				if err != nil {
					return fmt.Errorf("read plugin dir: %w", err)
				}
				for _, de := range entries {
					if isPluginCandidate(de) {
						paths = append(paths, filepath.Join(cfg.PluginDir, de.Name()))
					}
				}
			}
			dir, _ := filepath.Abs(cfg.PluginDir)
			var errs []error
			for _, p := range paths {
				abs, _ := filepath.Abs(p)
				if filepath.Dir(abs) != dir {
					errs = append(errs, usageError(fmt.Errorf("lock %s: not in the plugin directory %s; use `herder plugins install`", p, dir)))
					continue
				}
				e, err := installPlugin(cmd.Context(), cfg, abs, "")
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "locked %s: %s %s, sha256 %s\n", e.Name, e.Kind, e.Version, e.SHA256)
			}
			return errors.Join(errs...)
		},
	}
}

func newPluginsVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every pinned plugin binary against its SHA-256; exit 1 on any mismatch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			rows, err := pluginRows(cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var bad []string
			for _, r := range rows {
				switch r.Verified {
				case "ok":
					fmt.Fprintf(out, "ok        %s  %s\n", r.Name, r.SHA256)
				case "unpinned":
					if r.PinnedBy == "" && !declared(cfg, r.Name) {
						fmt.Fprintf(out, "unpinned  %s  %s (not in the lock file; herder will not run it)\n", r.Name, r.Path)
						continue
					}
					fmt.Fprintf(out, "UNPINNED  %s  %s: no sha256 in its plugin block or the lock file\n", r.Name, r.Path)
					bad = append(bad, r.Name)
				case "missing":
					fmt.Fprintf(out, "MISSING   %s  %s\n", r.Name, r.Problem)
					bad = append(bad, r.Name)
				default:
					fmt.Fprintf(out, "MISMATCH  %s  %s: %s\n", r.Name, r.Path, r.Problem)
					bad = append(bad, r.Name)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("plugins verify: %d plugin(s) failed: %s", len(bad), strings.Join(bad, ", "))
			}
			return nil
		},
	}
}

func declared(cfg *config.Config, name string) bool {
	for _, p := range cfg.Plugins {
		if p.Name == name {
			return true
		}
	}
	return false
}

func newPluginsRemoveCmd() *cobra.Command {
	var keepFile bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Unpin a plugin and delete its binary from the plugin directory",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("plugins remove takes one NAME, got %d", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			keep := keepFile
			defer resetFlags(cmd)
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			name := args[0]
			lf, err := pluginhost.ReadLockFile(cfg.PluginDir)
			if err != nil {
				return err
			}
			e, ok := lf.Get(name)
			if !ok {
				return fmt.Errorf("plugins remove: %w: %q is not in %s", pluginhost.ErrUnknownPlugin, name, lf.Path)
			}
			lf.Remove(name)
			if err := lf.Write(); err != nil {
				return err
			}
			path := lf.BinaryPath(e)
			dir, _ := filepath.Abs(cfg.PluginDir)
			if !keep && filepath.Dir(path) == dir {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("plugins remove %s: %w", name, err)
				}
			}
			for _, s := range cfg.Sources {
				if s.Plugin == name {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: source %q in %s still uses plugin %q\n", s.Name, cfg.Filename, name)
				}
			}
			for _, p := range cfg.Processors {
				if p.Plugin == name {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: processor %q in %s still uses plugin %q\n", p.Name, cfg.Filename, name)
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", name)
			return err
		},
	}
	cmd.Flags().BoolVar(&keepFile, "keep-file", false, "only unpin; leave the binary in place")
	return cmd
}

// adminClient talks to a running server's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

const maxAdminResponse = 4 << 20

func newAdminClient(server string) (*adminClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError(fmt.Errorf("--server %q: want an http(s) URL like http://127.0.0.1:8080", server))
	}
	return &adminClient{
		base:  strings.TrimRight(server, "/"),
		token: os.Getenv("HERDER_TOKEN"),
		http:  &http.Client{Timeout: 2 * time.Minute},
	}, nil
}

func (a *adminClient) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		var e struct {
			Detail string `json:"detail"`
			Error  string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && (e.Detail != "" || e.Error != "") {
			msg = e.Detail + e.Error
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			msg += " (set HERDER_TOKEN to an admin token)"
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	return body, nil
}

func serverFlag(cmd *cobra.Command, p *string) {
	def := os.Getenv("HERDER_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	cmd.Flags().StringVar(p, "server", def, "URL of the running herder server (env HERDER_SERVER); authenticates with $HERDER_TOKEN")
}

func newPluginsStatusCmd() *cobra.Command {
	var server string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running server's plugins: state, pid, uptime, restarts, last error, throughput",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, js := server, asJSON
			defer resetFlags(cmd)
			c, err := newAdminClient(srv)
			if err != nil {
				return err
			}
			body, err := c.do(cmd.Context(), http.MethodGet, "/api/admin/plugins/")
			if err != nil {
				return err
			}
			statuses, err := decodeStatuses(body)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if js {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(statuses)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tPID\tUPTIME\tRESTARTS\tTHROUGHPUT\tLAST ERROR")
			for _, s := range statuses {
				pid := "-"
				if s.PID != 0 {
					pid = fmt.Sprint(s.PID)
				}
				uptime := "-"
				if s.UptimeSeconds > 0 {
					uptime = (time.Duration(s.UptimeSeconds) * time.Second).String()
				}
				tput := fmt.Sprintf("%.1f ev/s (%d events)", s.EventsPerSecond, s.Events)
				if s.Kind == string(pluginrpc.KindProcessor) {
					tput = fmt.Sprintf("%d calls, %d failed, %d/%d in flight", s.Calls, s.CallErrors, s.InFlight, s.Concurrency)
				}
				last := "-"
				if s.LastError != "" {
					last = "[" + s.LastErrorKind + "] " + firstLineOf(s.LastError, 100)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, s.Kind, s.State, pid, uptime, s.Restarts, tput, last)
			}
			return tw.Flush()
		},
	}
	serverFlag(cmd, &server)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// decodeStatuses accepts the admin API's list, bare or as {"plugins": [...]}.
func decodeStatuses(body []byte) ([]pluginhost.PluginStatus, error) {
	var list []pluginhost.PluginStatus
	if err := json.Unmarshal(body, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Plugins []pluginhost.PluginStatus `json:"plugins"`
	}
	if err := json.Unmarshal(body, &wrapped); err != nil {
		return nil, fmt.Errorf("decode plugin status: %w", err)
	}
	return wrapped.Plugins, nil
}

func firstLineOf(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

func newPluginsReloadCmd() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "reload NAME",
		Short: "Restart a plugin (instance or plugin name) on the running server with its newly pinned binary",
		Long: "reload asks the running server to verify the binary now at the plugin's path against its pin\n" +
			"(install the new binary first) and swap it in: a source is stopped gracefully and what it had\n" +
			"not acknowledged upstream is redelivered to the new one; a processor finishes its calls in flight.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("plugins reload takes one NAME, got %d", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			srv := server
			defer resetFlags(cmd)
			c, err := newAdminClient(srv)
			if err != nil {
				return err
			}
			body, err := c.do(cmd.Context(), http.MethodPost, "/api/admin/plugins/"+url.PathEscape(args[0])+"/reload/")
			if err != nil {
				return err
			}
			msg := strings.TrimSpace(string(body))
			var m struct {
				Message string `json:"message"`
			}
			var st []pluginhost.PluginStatus
			if json.Unmarshal(body, &m) == nil && m.Message != "" {
				msg = m.Message
			} else if json.Unmarshal(bytes.TrimSpace(body), &st) == nil && len(st) > 0 {
				msg = ""
				for _, s := range st {
					msg += fmt.Sprintf("%s: %s, pid %d, version %s\n", s.Name, s.State, s.PID, dash(s.Version))
				}
				msg = strings.TrimSpace(msg)
			}
			if msg == "" {
				msg = "reloaded " + args[0]
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	serverFlag(cmd, &server)
	return cmd
}

// startPlugins starts the supervisor of the configured sources and
// processors; sources' events go to sink (the ingest pipeline). Stop it with
// Stop(ctx) on shutdown.
func startPlugins(cfg *config.Config, log hclog.Logger, reg prometheus.Registerer, sink pluginhost.Sink) (*pluginhost.Supervisor, error) {
	sup, err := pluginhost.New(cfg, pluginhost.Options{
		Sink:       sink,
		Logger:     log.Named("plugins"),
		LogLevel:   cfg.Log.Level,
		Registerer: reg,
	})
	if err != nil {
		return nil, usageError(fmt.Errorf("plugins: %w", err))
	}
	if err := sup.Start(); err != nil {
		return nil, err
	}
	return sup, nil
}

// pluginAdmin serves the supervisor to the admin API (server.PluginAdmin):
// GET /api/admin/plugins/ and POST /api/admin/plugins/{name}/reload/. The
// supervisor arrives once the database is ready; until then there are no
// plugins to show.
type pluginAdmin struct {
	sup atomic.Pointer[pluginhost.Supervisor]
}

var _ server.PluginAdmin = (*pluginAdmin)(nil)

func (a *pluginAdmin) set(s *pluginhost.Supervisor) { a.sup.Store(s) }
func (a *pluginAdmin) get() *pluginhost.Supervisor  { return a.sup.Load() }

func (a *pluginAdmin) PluginStatus() any {
	if sup := a.get(); sup != nil {
		return sup.Status()
	}
	return []any{}
}

func (a *pluginAdmin) ReloadPlugin(ctx context.Context, name string) error {
	sup := a.get()
	if sup == nil {
		return fmt.Errorf("plugin %q: %w", name, server.ErrNotFound)
	}
	err := sup.Reload(ctx, name)
	if errors.Is(err, pluginhost.ErrUnknownPlugin) {
		return fmt.Errorf("%w: %w", server.ErrNotFound, err)
	}
	return err
}
