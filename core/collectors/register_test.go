package collectors

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterSharesACollectorOfTheSameName(t *testing.T) {
	reg := prometheus.NewRegistry()
	var err error
	opts := prometheus.CounterOpts{Name: "herder_test_total", Help: "test"}
	a := Register(reg, prometheus.NewCounter(opts), &err)
	b := Register(reg, prometheus.NewCounter(opts), &err)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("a second collector of the same name was not replaced by the first")
	}
	// Same name, another type: an error, kept.
	Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "herder_test_total", Help: "test"}), &err)
	if err == nil {
		t.Fatal("a clashing collector was registered without an error")
	}
}
