package transform

import (
	"fmt"
	"strings"
)

// Repository is what push routing needs to know about one configured
// repository (Treeherder's Repository plus its RepositoryBranch rows).
type Repository struct {
	Name string
	URL  string
	// Branches are exact branch names or suffix wildcards ("releases/*", "*").
	Branches []string
	// Inactive repositories (active_status "onhold") never match.
	Inactive bool
	// AcceptsPullRequests lets pull-request pushes land in this repository.
	AcceptsPullRequests bool
}

// Resolution is the repository a push belongs to.
type Resolution struct {
	Repository string
	// Branch is the pushed branch when a wildcard rule matched, else empty:
	// Treeherder records a push's branch only then.
	Branch string
}

func isWildcard(rule string) bool { return strings.HasSuffix(rule, "*") }

// ResolveBranch finds the repository of a push to branch of url: among active
// repositories with that url, one listing the branch exactly; failing that,
// one whose wildcard rule matches (branch starts with the rule minus its
// "*"). More than one match at either step is ErrAmbiguousRepository; none
// is ErrUnknownRepository.
func ResolveBranch(repos []Repository, url, branch string) (Resolution, error) {
	var exact, wild []string
	for _, r := range repos {
		if r.Inactive || r.URL != url {
			continue
		}
		matchedExact, matchedWild := false, false
		for _, rule := range r.Branches {
			switch {
			case rule == branch:
				matchedExact = true
			case isWildcard(rule) && strings.HasPrefix(branch, strings.TrimSuffix(rule, "*")):
				matchedWild = true
			}
		}
		if matchedExact {
			exact = append(exact, r.Name)
		} else if matchedWild {
			wild = append(wild, r.Name)
		}
	}
	switch {
	case len(exact) == 1:
		return Resolution{Repository: exact[0]}, nil
	case len(exact) > 1:
		return Resolution{}, fmt.Errorf("%s branch %s: %v: %w", url, branch, exact, ErrAmbiguousRepository)
	case len(wild) == 1:
		return Resolution{Repository: wild[0], Branch: branch}, nil
	case len(wild) > 1:
		return Resolution{}, fmt.Errorf("%s branch %s: %v: %w", url, branch, wild, ErrAmbiguousRepository)
	}
	return Resolution{}, fmt.Errorf("%s branch %s: %w", url, branch, ErrUnknownRepository)
}

// ResolveHg finds the repository of an hg push: the single active repository
// with that url and no wildcard branch rule.
func ResolveHg(repos []Repository, url string) (Resolution, error) {
	return resolveOne(repos, url, "hg", func(r Repository) bool {
		for _, rule := range r.Branches {
			if isWildcard(rule) {
				return false
			}
		}
		return true
	})
}

// ResolvePullRequest finds the repository of a pull request: the single
// active repository with that url that accepts pull requests.
func ResolvePullRequest(repos []Repository, url string) (Resolution, error) {
	return resolveOne(repos, url, "pull request", func(r Repository) bool { return r.AcceptsPullRequests })
}

func resolveOne(repos []Repository, url, kind string, ok func(Repository) bool) (Resolution, error) {
	var names []string
	for _, r := range repos {
		if !r.Inactive && r.URL == url && ok(r) {
			names = append(names, r.Name)
		}
	}
	switch len(names) {
	case 1:
		return Resolution{Repository: names[0]}, nil
	case 0:
		return Resolution{}, fmt.Errorf("%s %s: %w", kind, url, ErrUnknownRepository)
	}
	return Resolution{}, fmt.Errorf("%s %s: %v: %w", kind, url, names, ErrAmbiguousRepository)
}
