// Command herder is the herder host: it serves the API and UI, runs source and
// processor plugins, and carries the operator's commands.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code out of a command; 2 means bad input
// (invalid config, bad flags), 1 any other failure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks an error as the operator's (exit code 2).
func usageError(err error) error { return &exitError{code: 2, err: err} }

// globalFlags are the flags every command accepts.
type globalFlags struct {
	configPath string
	dataDir    string
	logLevel   string
}

var global globalFlags

var rootCmd = &cobra.Command{
	Use:           "herder",
	Short:         "CI results: pushes, jobs, parsed logs and bug suggestions",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	pf := rootCmd.PersistentFlags()
	pf.StringVar(&global.configPath, "config", os.Getenv("HERDER_CONFIG"), "HCL config file (default: the built-in config)")
	pf.StringVar(&global.dataDir, "data-dir", "", "data directory for the embedded database and state (overrides the config)")
	pf.StringVar(&global.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (overrides the config)")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "herder:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
