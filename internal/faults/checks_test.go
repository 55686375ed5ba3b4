//go:build faults

package faults

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/herder-ci/herder/internal/pulsetest"
)

// jobReport compares the job table with the scenario.
type jobReport struct {
	rows, missing, wrong, unexpected int
	samples                          []string // a few of the problems
}

func (j jobReport) ok() bool { return j.missing == 0 && j.wrong == 0 && j.unexpected == 0 }

func (j jobReport) String() string {
	return fmt.Sprintf("%d job rows: %d missing, %d with the wrong state/result, %d unexpected guids %v", j.rows, j.missing, j.wrong, j.unexpected, j.samples)
}

func (r *rig) checkJobs(ctx context.Context) (jobReport, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT guid, state, result FROM job")
	if err != nil {
		return jobReport{}, err
	}
	defer rows.Close()
	var rep jobReport
	seen := make([]bool, len(r.scen.outcomes))
	for rows.Next() {
		var guid, state, result string
		if err := rows.Scan(&guid, &state, &result); err != nil {
			return jobReport{}, err
		}
		rep.rows++
		i, ok := guidIndex(guid)
		if !ok || i >= len(seen) || seen[i] {
			rep.unexpected++
			rep.sample("unexpected or repeated guid " + guid)
			continue
		}
		seen[i] = true
		ws, wr := r.scen.outcomes[i].want()
		if state != ws || result != wr {
			rep.wrong++
			rep.sample(fmt.Sprintf("task %d: %s/%s, want %s/%s", i, state, result, ws, wr))
		}
	}
	if err := rows.Err(); err != nil {
		return jobReport{}, err
	}
	for i, s := range seen {
		if !s {
			rep.missing++
			rep.sample(fmt.Sprintf("task %d (%s) missing", i, pulsetest.JobGUID(i, 0)))
		}
	}
	return rep, nil
}

func (j *jobReport) sample(s string) {
	if len(j.samples) < 5 {
		j.samples = append(j.samples, s)
	}
}

// guidIndex reverses pulsetest.JobGUID(i, 0).
func guidIndex(guid string) (int, bool) {
	var i, run int
	if _, err := fmt.Sscanf(guid, "00000000-0000-4000-8000-%012x/%d", &i, &run); err != nil || run != 0 {
		return 0, false
	}
	return i, true
}

// logReport describes the job_log table.
type logReport struct {
	rows, pending, parsed, otherStatus int
	byStatus                           map[int]int
	// Per parse_count, how many logs of failed jobs and of other jobs.
	failedParses, otherParses map[int]int
	noVersion                 int // parsed without algorithm_version
	unexpected                int // logs of jobs that should have none, or several per job
	pendingSamples            []string
}

func (l logReport) String() string {
	return fmt.Sprintf("%d logs: %d pending, %d parsed, statuses %v; parse_count of failed jobs' logs %v, of others %v; %d parsed without algorithm_version; %d unexpected; pending e.g. %v",
		l.rows, l.pending, l.parsed, l.byStatus, l.failedParses, l.otherParses, l.noVersion, l.unexpected, l.pendingSamples)
}

func (r *rig) checkLogs(ctx context.Context) (logReport, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT j.guid, l.id, l.status, l.parse_count, l.algorithm_version,
		COALESCE(l.lease_owner, ''), COALESCE(l.lease_until, 0), COALESCE(l.queued_at, 0)
		FROM job_log l JOIN job j ON j.id = l.job_id`)
	if err != nil {
		return logReport{}, err
	}
	defer rows.Close()
	rep := logReport{byStatus: map[int]int{}, failedParses: map[int]int{}, otherParses: map[int]int{}}
	seen := map[int]bool{}
	now := time.Now().UnixMilli()
	for rows.Next() {
		var (
			guid, version, owner string
			id                   int64
			status, parses       int
			leaseUntil, queuedAt int64
		)
		if err := rows.Scan(&guid, &id, &status, &parses, &version, &owner, &leaseUntil, &queuedAt); err != nil {
			return logReport{}, err
		}
		rep.rows++
		rep.byStatus[status]++
		i, ok := guidIndex(guid)
		if !ok || i >= len(r.scen.outcomes) || !r.scen.outcomes[i].hasLog() || seen[i] {
			rep.unexpected++
		}
		seen[i] = true
		switch status {
		case 0:
			rep.pending++
			if len(rep.pendingSamples) < 5 {
				lease := "no lease"
				if owner != "" {
					lease = fmt.Sprintf("leased by %s for %ds more", owner, (leaseUntil-now)/1000)
				}
				queued := "never queued"
				if queuedAt > 0 {
					queued = fmt.Sprintf("queued %ds ago", (now-queuedAt)/1000)
				}
				rep.pendingSamples = append(rep.pendingSamples, fmt.Sprintf("log %d of task %d: %s, %s", id, i, lease, queued))
			}
		case 1:
			rep.parsed++
			if version == "" {
				rep.noVersion++
			}
		default:
			rep.otherStatus++
		}
		if ok && i < len(r.scen.outcomes) && r.scen.outcomes[i] == outFailed {
			rep.failedParses[parses]++
		} else {
			rep.otherParses[parses]++
		}
	}
	return rep, rows.Err()
}

// queueReport is every queue of the rig's vhost.
type queueReport struct {
	counts map[string]pulsetest.QueueCount
}

func (q queueReport) String() string {
	var names []string
	for n := range q.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		c := q.counts[n]
		fmt.Fprintf(&b, "%s ready=%d unacked=%d; ", n, c.Ready, c.Unacked)
	}
	return b.String()
}

// busy lists the queues with work in them (dead-letter queues aside).
func (r *rig) busy(q queueReport) []string {
	var out []string
	for n, c := range q.counts {
		if r.isDead(n) {
			continue
		}
		if c.Ready != 0 || c.Unacked != 0 {
			out = append(out, fmt.Sprintf("%s (ready %d, unacked %d)", n, c.Ready, c.Unacked))
		}
	}
	sort.Strings(out)
	return out
}

func (r *rig) isDead(name string) bool {
	return name == r.pulseDLQ || strings.HasSuffix(name, ".dead")
}

func (r *rig) checkQueues() (queueReport, error) {
	c, err := r.mq.AllCounts()
	return queueReport{counts: c}, err
}

// state is one look at everything.
type state struct {
	jobs   jobReport
	logs   logReport
	queues queueReport
}

func (s state) String() string {
	return fmt.Sprintf("jobs: %v\nlogs: %v\nqueues: %v", s.jobs, s.logs, s.queues)
}

// digest is what changes while work is done (not the lease times).
func (s state) digest() string {
	return fmt.Sprint(s.jobs.rows, s.jobs.missing, s.jobs.wrong, s.logs.rows, s.logs.pending, s.logs.byStatus, s.queues)
}

func (r *rig) look(ctx context.Context) (state, error) {
	var s state
	var err error
	if s.jobs, err = r.checkJobs(ctx); err != nil {
		return s, fmt.Errorf("read jobs: %w", err)
	}
	if s.logs, err = r.checkLogs(ctx); err != nil {
		return s, fmt.Errorf("read logs: %w", err)
	}
	if s.queues, err = r.checkQueues(); err != nil {
		return s, fmt.Errorf("read queues: %w", err)
	}
	return s, nil
}

// quiet says whether the rig has finished: every job stored as it must end,
// every log out of pending, no work in any queue.
func (r *rig) quiet(s state) bool {
	return s.jobs.ok() && s.logs.rows == r.scen.logs() && s.logs.pending == 0 && len(r.busy(s.queues)) == 0 &&
		len(s.queues.counts) > 0
}

// waitQuiet polls until the rig is quiet twice in a row, or the deadline.
func (r *rig) waitQuiet(ctx context.Context, deadline time.Time) (state, error) {
	var last state
	var lastErr error
	streak := 0
	moved := time.Now()
	for {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s, err := r.look(qctx)
		cancel()
		if err == nil {
			if s.digest() != last.digest() {
				moved = time.Now()
			}
			last = s
			if r.quiet(s) {
				streak++
				if streak == 2 {
					return s, nil
				}
			} else {
				streak = 0
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			return last, fmt.Errorf("not quiet by the deadline (last error: %v)", lastErr)
		}
		if time.Since(moved) > stallAfter {
			return last, fmt.Errorf("stuck: nothing changed for %s (last error: %v)", stallAfter, lastErr)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// errorLines counts jobs with a stored error line mentioning
// TEST-UNEXPECTED-FAIL, by job result.
func (r *rig) errorLines(ctx context.Context) (map[string]int, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT j.result, COUNT(DISTINCT e.job_id) FROM text_log_error e
		JOIN job j ON j.id = e.job_id WHERE e.line LIKE '%TEST-UNEXPECTED-FAIL%' GROUP BY j.result`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var res string
		var n int
		if err := rows.Scan(&res, &n); err != nil {
			return nil, err
		}
		out[res] = n
	}
	return out, rows.Err()
}

// deadLetter is a message of the plugin's dead-letter queue.
type deadLetter struct {
	body, reason, code string
}

// deadLetters takes every message of a dead-letter queue (acknowledging
// them) with the reason the plugin gave.
func (r *rig) deadLetters(queue string) []deadLetter {
	var out []deadLetter
	for _, d := range r.mq.Drain(r.t, queue) {
		reason, _ := d.Headers["x-herder-reason"].(string)
		code, _ := d.Headers["x-herder-reason-code"].(string)
		out = append(out, deadLetter{body: string(d.Body), reason: reason, code: code})
	}
	return out
}

// countRows runs a COUNT query.
func countRows(ctx context.Context, db *sql.DB, q string, args ...any) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}
