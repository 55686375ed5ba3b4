package sqlstore

import (
	"context"
	"fmt"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// LogCount is the number of logs of one kind (model.LogKind*, or "other"),
// job class (failed: any result but success) and parse status.
type LogCount struct {
	Kind   string
	Failed bool
	Status int // model.Log*
	Count  int64
}

// LogCounts counts every job log by kind, job class and status, for
// `herder logs status`.
func (s *Store) LogCounts(ctx context.Context) ([]LogCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT
		CASE WHEN l.name = ? THEN ? WHEN l.name = ? THEN ? WHEN l.name LIKE 'perfherder-data%' THEN ? ELSE 'other' END AS kind,
		CASE WHEN j.result = ? THEN 0 ELSE 1 END AS failed, l.status, COUNT(*)
		FROM job_log l JOIN job j ON j.id = l.job_id
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
		sdk.LogLiveBacking, model.LogKindRaw, sdk.LogErrorSummary, model.LogKindJSON, model.LogKindPerf, sdk.ResultSuccess)
	if err != nil {
		return nil, fmt.Errorf("count logs: %w", err)
	}
	defer rows.Close()
	var out []LogCount
	for rows.Next() {
		var c LogCount
		var failed int
		if err := rows.Scan(&c.Kind, &failed, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("scan log count: %w", err)
		}
		c.Failed = failed == 1
		out = append(out, c)
	}
	return out, rows.Err()
}
