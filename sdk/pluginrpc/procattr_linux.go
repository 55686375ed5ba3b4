package pluginrpc

import (
	"os/exec"
	"syscall"
)

// dieWithHost makes the kernel kill a plugin process when its host dies,
// even by kill -9: otherwise an orphaned source would keep consuming (and
// holding unacknowledged messages) with nobody to hand its events to.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
