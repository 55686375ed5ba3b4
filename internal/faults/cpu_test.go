//go:build faults

package faults

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuMeter measures the CPU time the rig's parts use during a run, from
// /proc: mariadbd, RabbitMQ (beam.smp), each herder process with its
// plugins, the test process (fake Taskcluster, publisher, checks), and the
// whole machine, whose remainder is other work sharing it.
type cpuMeter struct {
	r     *rig
	begin time.Time
	base  map[int]uint64 // ticks of the processes alive at the start
	total [2]uint64      // machine busy and all ticks at the start

	mu    sync.Mutex
	last  map[int]sample // latest ticks per pid, with its group
	stop  chan struct{}
	done  chan struct{}
	peaks map[string]float64 // highest share of one core seen per group, over 1s samples
}

type sample struct {
	group string
	ticks uint64
}

const clockTicks = 100 // USER_HZ on Linux

func startCPUMeter(r *rig) *cpuMeter {
	m := &cpuMeter{r: r, begin: time.Now(), base: map[int]uint64{}, last: map[int]sample{},
		stop: make(chan struct{}), done: make(chan struct{}), peaks: map[string]float64{}}
	for pid := range m.targets() {
		if t, ok := procTicks(pid); ok {
			m.base[pid] = t
		}
	}
	m.total[0], m.total[1] = machineTicks()
	go m.run()
	return m
}

// targets maps the pids to measure to their group.
func (m *cpuMeter) targets() map[int]string {
	out := map[int]string{os.Getpid(): "test process (fake upstream, publisher)"}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		switch comm, _, _ := procStat(pid); comm {
		case "mariadbd":
			out[pid] = "mariadbd"
		case "beam.smp":
			out[pid] = "rabbitmq (beam.smp)"
		}
	}
	for _, p := range m.r.procs {
		if !p.running() {
			continue
		}
		group := p.name
		if strings.HasPrefix(group, "worker") {
			group = "workers"
		}
		out[p.pid()] = "herder " + group
		for _, c := range children(p.pid()) {
			out[c.pid] = "plugin " + c.comm
		}
	}
	return out
}

func (m *cpuMeter) run() {
	defer close(m.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := map[string]uint64{}
	for {
		groups := map[string]uint64{}
		m.mu.Lock()
		for pid, g := range m.targets() {
			if t, ok := procTicks(pid); ok {
				m.last[pid] = sample{g, t}
			}
		}
		for pid, s := range m.last {
			groups[s.group] += s.ticks - m.base[pid]
		}
		for g, t := range groups {
			if p, ok := prev[g]; ok && t >= p {
				m.peaks[g] = max(m.peaks[g], float64(t-p)/clockTicks)
			}
		}
		m.mu.Unlock()
		prev = groups
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
	}
}

// report stops the meter and describes CPU use per group: seconds, and
// cores on average (of nproc) with the busiest second.
func (m *cpuMeter) report() string {
	close(m.stop)
	<-m.done
	wall := time.Since(m.begin).Seconds()
	busy, all := machineTicks()
	busyS := float64(busy-m.total[0]) / clockTicks
	cores := float64(all-m.total[1]) / clockTicks / wall
	m.mu.Lock()
	defer m.mu.Unlock()
	groups := map[string]float64{}
	for pid, s := range m.last {
		groups[s.group] += float64(s.ticks-m.base[pid]) / clockTicks
	}
	var names []string
	ours := 0.0
	for g, s := range groups {
		names = append(names, g)
		ours += s
	}
	sort.Slice(names, func(a, b int) bool { return groups[names[a]] > groups[names[b]] })
	var b strings.Builder
	fmt.Fprintf(&b, "CPU over %.1fs wall on %.0f cores (machine busy %.0f%%):\n", wall, cores, 100*busyS/(wall*cores))
	for _, g := range names {
		fmt.Fprintf(&b, "  %-40s %7.1f cpu-s  %.2f cores avg  %.2f peak\n", g, groups[g], groups[g]/wall, m.peaks[g])
	}
	fmt.Fprintf(&b, "  %-40s %7.1f cpu-s  %.2f cores avg\n", "other processes on the machine", max(busyS-ours, 0), max(busyS-ours, 0)/wall)
	return b.String()
}

// procTicks is a process's user+system CPU time in clock ticks.
func procTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	return u + st, err1 == nil && err2 == nil
}

// machineTicks returns the busy and total ticks of all CPUs (/proc/stat).
func machineTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// dbCounters reads MariaDB's global statement and row counters, so a run
// can report what it cost the database per message. They are server-wide:
// other databases' work at the same time shows too.
func (r *rig) dbCounters(ctx context.Context) map[string]int64 {
	rows, err := r.db.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select', 'Com_insert',
		'Com_update', 'Com_delete', 'Com_commit', 'Com_begin', 'Com_rollback', 'Innodb_rows_inserted', 'Innodb_rows_updated',
		'Innodb_rows_read', 'Innodb_row_lock_waits', 'Innodb_deadlocks', 'Innodb_data_fsyncs', 'Bytes_received')`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if rows.Scan(&name, &v) == nil {
			out[name] = v
		}
	}
	return out
}

// dbCost describes the counters' growth between two reads, per message.
func dbCost(before, after map[string]int64, msgs int) string {
	var names []string
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "MariaDB counters for %d messages (server-wide):", msgs)
	for _, n := range names {
		d := after[n] - before[n]
		fmt.Fprintf(&b, " %s %d (%.2f/msg);", n, d, float64(d)/float64(msgs))
	}
	return b.String()
}
