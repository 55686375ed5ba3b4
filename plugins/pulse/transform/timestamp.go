package transform

import (
	"fmt"
	"strings"
	"time"
)

// timeLayouts are the ISO 8601 shapes Taskcluster, GitHub and pulse jobs use.
// Treeherder parses with dateutil, which accepts far more; these cover every
// timestamp in the recorded data and in the producers' schemas.
var timeLayouts = []string{
	time.RFC3339, // also "Z", and fractional seconds (accepted by time.Parse)
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05-07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05-0700",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// ToTimestamp converts an ISO 8601 date-time to UTC epoch seconds, dropping
// fractional seconds, as Treeherder's to_timestamp
// (calendar.timegm(parse(s).utctimetuple())). A time without a zone is UTC.
func ToTimestamp(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if parsed, err := time.Parse(layout, t); err == nil {
			return parsed.Unix(), nil
		}
	}
	return 0, fmt.Errorf("unrecognised date-time %q", truncate(s))
}
