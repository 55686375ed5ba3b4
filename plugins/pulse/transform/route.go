package transform

import (
	"fmt"
	"strings"
)

// RoutePrefix is the first dotted segment of the route that marks a task for
// Treeherder.
const RoutePrefix = "tc-treeherder"

// Origins, as parse_route names them.
const (
	OriginHg     = "hg.mozilla.org"
	OriginGitHub = "github.com"
)

// Route is a parsed `tc-treeherder.<ver>.<project|owner/project>.<revision>[.<id>]`.
type Route struct {
	Destination string // always "tc-treeherder" for routes found by FindRoute
	Project     string
	// Owner is set for owner/project (GitHub) routes.
	Owner    string
	Revision string
	// ID is the pushlog id (hg) or pull-request number (GitHub); 0 when the
	// route has no fifth segment, or has more than five.
	ID int
	// Origin is OriginGitHub for owner/project routes, else OriginHg.
	Origin string
}

// ParseRoute parses one route as Treeherder's parse_route does, including
// its quirks: a project with exactly one "/" is owner/project, and the id is
// read only when the route has exactly five segments.
func ParseRoute(route string) (Route, error) {
	parts := strings.Split(route, ".")
	if len(parts) < 4 {
		return Route{}, fmt.Errorf("route %q: want at least 4 dotted segments", route)
	}
	r := Route{Destination: parts[0], Revision: parts[3], Origin: OriginHg}
	project := parts[2]
	if pp := strings.Split(project, "/"); len(pp) == 2 {
		r.Owner, r.Project = pp[0], pp[1]
	} else {
		r.Project = project
	}
	if len(parts) == 5 && parts[4] != "" {
		id, err := pyInt(parts[4])
		if err != nil {
			return Route{}, fmt.Errorf("route %q: id: %w", route, err)
		}
		r.ID = id
	}
	if r.Owner != "" && r.Project != "" {
		r.Origin = OriginGitHub
	} else {
		// Treeherder only records the owner on GitHub routes.
		r.Owner = ""
	}
	return r, nil
}

// FindRoute picks the task's single tc-treeherder route. No such route, or
// more than one, is ErrNoRoute (a skip); a malformed one is a *SchemaError.
func FindRoute(routes []string) (Route, error) {
	var found []string
	for _, r := range routes {
		if first, _, _ := strings.Cut(r, "."); first == RoutePrefix {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return Route{}, fmt.Errorf("%d tc-treeherder routes: %w", len(found), ErrNoRoute)
	}
	r, err := ParseRoute(found[0])
	if err != nil {
		return Route{}, &SchemaError{Schema: "task-definition", Field: "routes", Reason: err.Error()}
	}
	return r, nil
}
