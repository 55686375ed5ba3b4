package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
)

func init() {
	configCmd := &cobra.Command{
		Use:   "config",
		Short: "Check and print herder's configuration",
	}
	configCmd.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file (default: --config, or the built-in config) and report every problem",
		Long: "Check a config file and print each problem as file:line:col with the offending source line.\n" +
			"Exits 2 when the file has errors. env() calls are evaluated, so set the variables the file uses.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError(fmt.Errorf("config validate takes at most one FILE, got %d", len(args)))
			}
			return nil
		},
		RunE: runConfigValidate,
	})
	configCmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as JSON, secrets redacted",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(errors.New("config show takes no arguments; use --config FILE"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			js, err := cfg.RedactedJSON()
			if err != nil {
				return fmt.Errorf("render config: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", js)
			return err
		},
	})
	rootCmd.AddCommand(configCmd)
}

func runConfigValidate(cmd *cobra.Command, args []string) error {
	path := global.configPath
	if len(args) == 1 {
		path = args[0]
	}
	var diags hcl.Diagnostics
	name := path
	if path == "" {
		name = config.BuiltinFilename
		_, diags = config.Default()
	} else {
		_, diags = config.Load(path)
	}
	if err := config.WriteDiagnostics(cmd.ErrOrStderr(), nil, diags); err != nil {
		return fmt.Errorf("print diagnostics: %w", err)
	}
	if diags.HasErrors() {
		return usageError(fmt.Errorf("%s: %s", name, countProblems(diags)))
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", name)
	return err
}

func countProblems(diags hcl.Diagnostics) string {
	n := len(diags.Errs())
	if n == 1 {
		return "invalid configuration (1 error)"
	}
	return fmt.Sprintf("invalid configuration (%d errors)", n)
}

// loadConfig is how every command gets its configuration: the --config file
// (or $HERDER_CONFIG), else the built-in default, with --data-dir and
// --log-level applied on top. Problems are printed to stderr; an invalid
// config is a usage error (exit code 2).
func loadConfig() (*config.Config, error) {
	var (
		cfg   *config.Config
		diags hcl.Diagnostics
		name  = global.configPath
	)
	if name == "" {
		name = config.BuiltinFilename
		cfg, diags = config.Default()
	} else {
		cfg, diags = config.Load(name)
	}
	if err := config.WriteDiagnostics(os.Stderr, nil, diags); err != nil {
		return nil, fmt.Errorf("print diagnostics: %w", err)
	}
	if diags.HasErrors() {
		return nil, usageError(fmt.Errorf("%s: %s", name, countProblems(diags)))
	}
	if global.dataDir != "" {
		if err := cfg.SetDataDir(global.dataDir); err != nil {
			return nil, usageError(fmt.Errorf("--data-dir: %w", err))
		}
	}
	if global.logLevel != "" {
		if err := cfg.SetLogLevel(global.logLevel); err != nil {
			return nil, usageError(fmt.Errorf("--log-level: %w", err))
		}
	}
	return cfg, nil
}
