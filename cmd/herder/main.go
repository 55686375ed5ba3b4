// Command herder is the herder host: it serves the API and UI, runs source and
// processor plugins, and carries the operator's commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// logOutput is where the host logs; tests capture it.
var logOutput io.Writer = os.Stderr

func init() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	pf := rootCmd.PersistentFlags()
	pf.StringVar(&global.configPath, "config", os.Getenv("HERDER_CONFIG"), "HCL config file (default: the built-in config)")
	pf.StringVar(&global.dataDir, "data-dir", "", "data directory for the embedded database and state (overrides the config)")
	pf.StringVar(&global.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (overrides the config)")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	return runContext(context.Background(), args)
}

// runContext runs one command line. Flags start from their defaults each
// time, so tests can run several command lines in one process.
func runContext(ctx context.Context, args []string) int {
	resetCommands(ctx, rootCmd)
	rootCmd.SetArgs(args)
	err := rootCmd.ExecuteContext(ctx)
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

// resetCommands gives every command this run's context (cobra keeps the
// first one it saw otherwise) and its flags' defaults.
func resetCommands(ctx context.Context, cmd *cobra.Command) {
	cmd.SetContext(ctx)
	reset := func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			_ = sv.Replace(nil)
		} else {
			_ = f.Value.Set(f.DefValue)
		}
		f.Changed = false
	}
	cmd.Flags().VisitAll(reset)
	cmd.PersistentFlags().VisitAll(reset)
	for _, c := range cmd.Commands() {
		resetCommands(ctx, c)
	}
}
