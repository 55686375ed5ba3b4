//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/herder-ci/herder/sdk/plugintest"
)

// proc is one `herder serve` OS process of the rig, restartable. Its stdout
// and stderr (its plugins' logs included) go to one file, appended to
// across restarts.
type proc struct {
	r       *rig
	name    string
	roles   string
	migrate bool
	addr    string // host:port it listens on, the same across restarts
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd exited
	exit   error
	starts int
}

// startProc starts `herder serve --role roles` as process name. Only the
// process that migrates may run migrations: several processes migrating the
// same fresh database at once would race.
func (r *rig) startProc(name, roles string, migrate bool) *proc {
	r.t.Helper()
	p := &proc{r: r, name: name, roles: roles, migrate: migrate, addr: plugintest.FreeAddr(r.t), logPath: filepath.Join(r.dir, name+".log")}
	r.procs = append(r.procs, p)
	p.start()
	return p
}

func (p *proc) start() {
	p.r.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.r.t.Fatal(err)
	}
	args := []string{"--config", p.r.cfgPath, "--data-dir", filepath.Join(p.r.dir, "data-"+p.name),
		"serve", "--role", p.roles, "--listen", p.addr}
	if !p.migrate {
		args = append(args, "--no-migrate")
	}
	cmd := exec.Command(bins.herder, args...)
	cmd.Env = append(append(os.Environ(), p.r.up.Env()...), "GOTRACEBACK=all")
	cmd.Stdout, cmd.Stderr = f, f
	p.starts++
	fmt.Fprintf(f, "===== faults: start #%d of %s (--role %s) at %s =====\n", p.starts, p.name, p.roles, time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		f.Close()
		p.r.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exit = cmd, done, nil
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "===== faults: %s (pid %d) exited at %s: %v =====\n", p.name, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano), err)
		f.Close()
		p.mu.Lock()
		p.exit = err
		p.mu.Unlock()
		close(done)
	}()
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

func (p *proc) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// waitReady waits until /readyz answers 200 (database prepared, broker
// connected).
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	url := "http://" + p.addr + "/readyz"
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if !p.running() {
			return fmt.Errorf("%s exited while starting: %v", p.name, p.exitErr())
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last: %v)", p.name, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *proc) doneChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// kill9 SIGKILLs the herder process (not its plugins) and waits for it.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// terminate sends SIGTERM and waits up to timeout, then SIGKILLs it and
// any plugin process it left. It returns the exit error, or an error saying
// it had to be killed.
func (p *proc) terminate(timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	kids := children(cmd.Process.Pid)
	select {
	case <-done:
		killAll(kids)
		return p.exitErr()
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		killAll(kids)
		return p.exitErr()
	case <-time.After(timeout):
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	killAll(kids)
	return fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, timeout)
}

// child is a process whose parent is a rig process (a plugin).
type child struct {
	pid  int
	comm string
}

// children lists the live processes whose parent is pid.
func children(pid int) []child {
	var out []child
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, ppid, ok := procStat(n)
		if ok && ppid == pid {
			out = append(out, child{n, comm})
		}
	}
	return out
}

// procStat reads a process's command name and parent from /proc/PID/stat.
func procStat(pid int) (comm string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 2 || f[0] == "Z" {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return s[open+1 : closing], ppid, err == nil
}

func alive(pid int) bool {
	_, _, ok := procStat(pid)
	return ok
}

func killAll(kids []child) {
	for _, c := range kids {
		if alive(c.pid) {
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		}
	}
}

// pluginOf returns the pid of p's plugin process named comm.
func (p *proc) pluginOf(comm string) (int, bool) {
	for _, c := range children(p.pid()) {
		if c.comm == comm {
			return c.pid, true
		}
	}
	return 0, false
}
