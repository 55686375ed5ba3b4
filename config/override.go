package config

import (
	"fmt"
	"path/filepath"
	"slices"
)

// SetDataDir overrides data_dir (the --data-dir flag). A relative dir resolves
// against the current directory. An SQLite database that was in the old data
// dir by default follows it to the new one.
func (c *Config) SetDataDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("data dir must not be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve data dir %s: %w", dir, err)
	}
	if c.Storage.Driver == "sqlite" && c.Storage.DSN == filepath.Join(c.DataDir, sqliteFilename) {
		c.Storage.DSN = filepath.Join(abs, sqliteFilename)
	}
	c.DataDir = abs
	return nil
}

// SetLogLevel overrides log.level (the --log-level flag).
func (c *Config) SetLogLevel(level string) error {
	if !slices.Contains(LogLevels, level) {
		return fmt.Errorf("log level %q is not one of %s", level, quoteList(LogLevels))
	}
	c.Log.Level = level
	return nil
}
