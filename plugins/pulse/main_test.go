package main

import (
	"testing"

	"github.com/herder-ci/herder/sdk/plugintest"
)

// pluginBin is the plugin binary built once for the package's tests.
var pluginBin string

func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }
