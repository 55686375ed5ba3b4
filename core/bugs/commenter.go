package bugs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/core/store"
)

// CommenterStore is what the commenter needs of storage.
type CommenterStore interface {
	BugClassifications(ctx context.Context, from, to int64) ([]store.BugClassification, error)
	PushCount(ctx context.Context, from, to int64) (int64, error)
	OptionCollections(ctx context.Context) ([]store.OptionCollection, error)
}

// Commenter modes.
const (
	ModeAuto   = "auto" // weekly on Mondays, daily otherwise
	ModeDaily  = "daily"
	ModeWeekly = "weekly"
)

// Commenter writes Treeherder's intermittent failure summaries to Bugzilla
// (treeherder/intermittents_commenter): each bug with enough classified
// failures gets a comment with the count, the repositories and platforms,
// and for frequent failures a priority note and a whiteboard change. It
// posts only when the Bugzilla client has an API key; otherwise it reports
// what it would post.
type Commenter struct {
	Store    CommenterStore
	Bugzilla *Bugzilla
	Mode     string
	// PublicURL is herder's UI, for the details link.
	PublicURL string
	Log       hclog.Logger
	Now       func() time.Time
	// Pause between posts, not to flood Bugzilla (default 500 ms).
	Pause time.Duration
	// Report receives the changes when nothing is posted.
	Report func(format string, args ...any)
}

// BugChange is what the commenter writes to one bug.
type BugChange struct {
	BugID      int64  `json:"bug_id"`
	Comment    string `json:"comment"`
	Whiteboard string `json:"whiteboard,omitempty"`
	Total      int    `json:"total"`
}

// CommentReport sums up a run.
type CommentReport struct {
	Weekly   bool
	From, To string
	Changes  []BugChange
	Posted   int
}

var commentTemplate = template.Must(template.New("comment").Parse(
	`{{.Total}} failures were associated with this bug {{if .Weekly}}in the last 7 days{{else}}yesterday{{end}}.
{{- if .Rank}}
This is the #{{.Rank}} most frequent failure this week.{{end}}
{{- if eq .Priority 1}}

**This failure happened more than 75 times this week! Resolving this bug is a very high priority.**

**Try to resolve this bug as soon as possible. If unresolved for 1 week, the affected test(s) may be disabled.**{{end}}
{{- if eq .Priority 2}}

**This failure happened more than 30 times this week! Resolving this bug is a high priority.**

**Try to resolve this bug as soon as possible. If unresolved for 2 weeks, the affected test(s) may be disabled.**{{end}}
{{- if eq .Priority 3}}

**This test has failed more than 150 times in the last 21 days. It should be disabled until it can be fixed.**{{end}}

## Repository breakdown:
{{range .Repositories}}* {{.Name}}: {{.Count}}
{{end}}
## Platform and build breakdown:
{{range .Platforms}}* {{.Name}}: {{.Count}}
{{end}}
## For more details, see:
{{.Link}}`))

type counted struct {
	Name  string
	Count int
}

type bugStats struct {
	total     int
	repos     map[string]int
	platforms map[string]int
}

var (
	stockwellRE      = regexp.MustCompile(`\[stockwell (.+?)\]`)
	needsworkRE      = regexp.MustCompile(`\[stockwell needswork[^\]]*\]`)
	needsworkStripRE = regexp.MustCompile(`\s*\[stockwell needswork[^\]]*\]\s*`)
)

// Run computes the summaries and posts (or reports) them.
func (c *Commenter) Run(ctx context.Context) (CommentReport, error) {
	var rep CommentReport
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	log := c.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	today := now().UTC()
	weekly := c.Mode == ModeWeekly || ((c.Mode == ModeAuto || c.Mode == "") && today.Weekday() == time.Monday)
	rep.Weekly = weekly
	yesterday := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	end := yesterday.Add(24*time.Hour - time.Second)
	start := yesterday
	if weekly {
		start = yesterday.AddDate(0, 0, -6)
	}
	altStart := yesterday.AddDate(0, 0, -21)
	rep.From, rep.To = start.Format("2006-01-02"), yesterday.Format("2006-01-02")

	rows, err := c.Store.BugClassifications(ctx, start.Unix(), end.Unix())
	if err != nil {
		return rep, err
	}
	options, err := c.Store.OptionCollections(ctx)
	if err != nil {
		return rep, err
	}
	buildType := map[string]string{}
	for _, o := range options {
		buildType[o.Hash] = strings.Join(o.Options, " ")
	}
	stats := map[int64]*bugStats{}
	whiteboards := map[int64]string{}
	for _, r := range rows {
		s := stats[r.BugzillaID]
		if s == nil {
			s = &bugStats{repos: map[string]int{}, platforms: map[string]int{}}
			stats[r.BugzillaID] = s
		}
		s.total++
		s.repos[r.Repository]++
		bt := buildType[r.OptionCollectionHash]
		if bt == "" {
			bt = "unknown build"
		}
		s.platforms[r.Platform+"/"+bt]++
		whiteboards[r.BugzillaID] = r.Whiteboard
	}
	threshold := 15
	if weekly {
		threshold = 1
	}
	var bugs []int64
	for id, s := range stats {
		if s.total >= threshold {
			bugs = append(bugs, id)
		}
	}
	sort.Slice(bugs, func(i, j int) bool {
		if stats[bugs[i]].total != stats[bugs[j]].total {
			return stats[bugs[i]].total > stats[bugs[j]].total
		}
		return bugs[i] < bugs[j]
	})
	if len(bugs) == 0 {
		return rep, nil
	}
	alt := map[int64]int{}
	altRows, err := c.Store.BugClassifications(ctx, altStart.Unix(), end.Unix())
	if err != nil {
		return rep, err
	}
	for _, r := range altRows {
		alt[r.BugzillaID]++
	}
	runs, err := c.Store.PushCount(ctx, start.Unix(), end.Unix())
	if err != nil {
		return rep, err
	}
	_ = runs // Treeherder computes a failure rate it no longer shows.

	for i, id := range bugs {
		s := stats[id]
		rank, priority := 0, 0
		wb := whiteboards[id]
		change := ""
		if weekly {
			if i < 50 {
				rank = i + 1
			}
			switch {
			case s.total >= 75:
				priority = 1
			case s.total >= 30:
				priority = 2
			}
			if s.total < 20 && needsworkRE.MatchString(wb) {
				change = strings.TrimSpace(needsworkStripRE.ReplaceAllString(wb, "")) + "[stockwell unknown]"
			}
		}
		if alt[id] >= 150 && !settledWhiteboard(wb) {
			priority = 3
			w := strings.ReplaceAll(wb, "[stockwell unknown]", "")
			change = strings.TrimSpace(needsworkStripRE.ReplaceAllString(w, "")) + "[stockwell disable-recommended]"
		}
		link := fmt.Sprintf("%s/intermittent-failures/bugdetails?bug=%d&startday=%s&endday=%s&tree=all",
			strings.TrimRight(c.PublicURL, "/"), id, url.QueryEscape(rep.From), url.QueryEscape(rep.To))
		var buf bytes.Buffer
		if err := commentTemplate.Execute(&buf, map[string]any{
			"Total": s.total, "Weekly": weekly, "Rank": rank, "Priority": priority,
			"Repositories": sortedCounts(s.repos), "Platforms": sortedCounts(s.platforms), "Link": link,
		}); err != nil {
			return rep, fmt.Errorf("comment for bug %d: %w", id, err)
		}
		rep.Changes = append(rep.Changes, BugChange{BugID: id, Comment: buf.String(), Whiteboard: change, Total: s.total})
	}

	var errs []error
	pause := c.Pause
	if pause == 0 {
		pause = 500 * time.Millisecond
	}
	for i, ch := range rep.Changes {
		if c.Bugzilla == nil || !c.Bugzilla.HasAPIKey() {
			if c.Report != nil {
				c.Report("would comment on bug %d:\n%s\n", ch.BugID, ch.Comment)
				if ch.Whiteboard != "" {
					c.Report("would set the whiteboard of bug %d to %q\n", ch.BugID, ch.Whiteboard)
				}
			}
			continue
		}
		changes := map[string]any{"comment": map[string]string{"body": ch.Comment}}
		if ch.Whiteboard != "" {
			changes["whiteboard"] = ch.Whiteboard
		}
		if err := c.Bugzilla.UpdateBug(ctx, ch.BugID, changes); err != nil {
			log.Error("post comment", "bug", ch.BugID, "error", err)
			errs = append(errs, fmt.Errorf("bug %d: %w", ch.BugID, err))
		} else {
			rep.Posted++
		}
		if i < len(rep.Changes)-1 {
			select {
			case <-ctx.Done():
				return rep, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	mode := "daily"
	if weekly {
		mode = "weekly"
	}
	log.Info("intermittents commenter done", "mode", mode, "comments", len(rep.Changes), "posted", rep.Posted)
	return rep, errors.Join(errs...)
}

// settledWhiteboard is check_whiteboard_status: bugs marked fixed, infra or
// disabled (or already recommended for disabling) are left alone.
func settledWhiteboard(wb string) bool {
	m := stockwellRE.FindStringSubmatch(wb)
	if m == nil {
		return false
	}
	text := strings.SplitN(m[1], ":", 2)[0]
	return text == "fixed" || text == "infra" || strings.Contains(text, "disable")
}

func sortedCounts(m map[string]int) []counted {
	out := make([]counted, 0, len(m))
	for k, v := range m {
		out = append(out, counted{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}
