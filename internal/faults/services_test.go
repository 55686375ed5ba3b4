//go:build faults

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The shared services' faults. scripts/services.sh starts both; MariaDB is
// started again by that script ("the same way"), RabbitMQ's application is
// stopped and started with rabbitmqctl as plugins/pulse/restart_test.go does.

const mariadbPidFile = "/run/mysqld/mysqld.pid"

// killMariaDB SIGKILLs mariadbd (a crash: InnoDB recovers at the next
// start) and waits until it is gone. It returns the pid it killed.
func killMariaDB() (int, error) {
	b, err := os.ReadFile(mariadbPidFile)
	if err != nil {
		return 0, fmt.Errorf("read %s (is MariaDB running from scripts/services.sh?): %w", mariadbPidFile, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", mariadbPidFile, err)
	}
	if comm, _, ok := procStat(pid); !ok || comm != "mariadbd" {
		return 0, fmt.Errorf("pid %d of %s is not a live mariadbd (%q)", pid, mariadbPidFile, comm)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill mariadbd %d: %w", pid, err)
	}
	for deadline := time.Now().Add(30 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			return pid, fmt.Errorf("mariadbd %d still alive 30s after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return pid, nil
}

// startMariaDB runs `scripts/services.sh mariadb`, which starts mariadbd
// when it does not answer and waits until it does (crash recovery
// included). It is a no-op when MariaDB is up.
func startMariaDB(root string) error {
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "services.sh"), "mariadb")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/services.sh mariadb: %v: %s", err, out)
	}
	return nil
}
