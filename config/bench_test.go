package config

import (
	"os"
	"testing"
)

func BenchmarkParseExample(b *testing.B) {
	b.Setenv("HERDER_MYSQL_DSN", "herder:pw@tcp(db:3306)/herder")
	b.Setenv("HERDER_AMQP_URL", "amqps://herder:pw@mq:5671/herder")
	b.Setenv("HERDER_PULSE_URL", "amqps://u:pw@pulse.mozilla.org:5671")
	src, err := os.ReadFile("../examples/herder.hcl")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, diags := Parse(src, "herder.hcl"); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkParseSeed measures parsing the built-in repository list, which
// every command that validates repository groups pays once per process.
func BenchmarkParseSeed(b *testing.B) {
	b.SetBytes(int64(len(seedSrc)))
	for b.Loop() {
		if _, diags := parse(seedSrc, options{filename: SeedFilename, pluginBase: ".", dataBase: ".", seed: true}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
