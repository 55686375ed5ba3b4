package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type hgFunc func(ctx context.Context, url string) (json.RawMessage, error)

func (f hgFunc) HgPushes(ctx context.Context, url string) (json.RawMessage, error) {
	return f(ctx, url)
}

type ghFake struct {
	compare   []GitHubCommit
	pr        []GitHubCommit
	err       error
	lastCall  string
	callCount int
}

func (g *ghFake) Compare(_ context.Context, owner, repo, base, head string) ([]GitHubCommit, error) {
	g.callCount++
	g.lastCall = fmt.Sprintf("compare %s/%s %s...%s", owner, repo, base, head)
	return g.compare, g.err
}

func (g *ghFake) PullRequestCommits(_ context.Context, owner, repo string, n int) ([]GitHubCommit, error) {
	g.callCount++
	g.lastCall = fmt.Sprintf("pr %s/%s#%d", owner, repo, n)
	return g.pr, g.err
}

func hgMessageBody(repoURL, pushURL string) []byte {
	return []byte(fmt.Sprintf(`{"payload":{"repo_url":%q,"pushlog_pushes":[{"pushid":1,"push_full_json_url":%q}],"heads":[]}}`, repoURL, pushURL))
}

func TestHgPushKeepsLast200(t *testing.T) {
	var cs []string
	for i := 0; i < 250; i++ {
		cs = append(cs, fmt.Sprintf(`{"node":"%040d","author":"A <a@x>","desc":"c%d"}`, i, i))
	}
	doc := fmt.Sprintf(`{"lastpushid":9,"pushes":{"9":{"changesets":[%s],"date":1469830246,"user":"u@x"},"8":{"changesets":[],"date":1,"user":"z"}}}`, strings.Join(cs, ","))
	var gotURL string
	f := hgFunc(func(_ context.Context, url string) (json.RawMessage, error) {
		gotURL = url
		return json.RawMessage(doc), nil
	})
	d, err := TransformHgPush(context.Background(), hgMessageBody("https://hg.mozilla.org/try", "https://hg.mozilla.org/try/json-pushes?x=1"), f)
	if err != nil {
		t.Fatal(err)
	}
	if gotURL != "https://hg.mozilla.org/try/json-pushes?x=1" {
		t.Errorf("fetched %s", gotURL)
	}
	if len(d.Revisions) != 200 || d.Revisions[0].Comment != "c50" || d.Revision != fmt.Sprintf("%040d", 249) {
		t.Errorf("%d revisions, first %q, revision %s", len(d.Revisions), d.Revisions[0].Comment, d.Revision)
	}
	if d.Author != "u@x" || d.PushTimestamp != 1469830246 {
		t.Errorf("author %q time %d", d.Author, d.PushTimestamp)
	}
}

func TestHgPushErrors(t *testing.T) {
	ctx := context.Background()
	body := hgMessageBody("https://hg.mozilla.org/try", "https://hg.mozilla.org/try/json-pushes")
	doc := func(s string) PushFetcher {
		return hgFunc(func(context.Context, string) (json.RawMessage, error) { return json.RawMessage(s), nil })
	}
	// No pushes yet: retry later, as Treeherder's HgPushFetchError.
	_, err := TransformHgPush(ctx, body, doc(`{}`))
	if !errors.Is(err, ErrUpstream) || !IsRetryable(err) {
		t.Errorf("no pushes: %v", err)
	}
	if _, err := TransformHgPush(ctx, body, doc(`{"pushes":{}}`)); !IsRetryable(err) {
		t.Errorf("empty pushes: %v", err)
	}
	if _, err := TransformHgPush(ctx, body, doc(`{"pushes":{"1":{"changesets":[],"date":1,"user":"u"}}}`)); !errors.Is(err, ErrSchema) {
		t.Errorf("no changesets: %v", err)
	}
	if _, err := TransformHgPush(ctx, body, doc(`{"pushes":{"1":{"changesets":[{"node":"a"}],"date":"x","user":"u"}}}`)); !errors.Is(err, ErrSchema) {
		t.Errorf("bad date: %v", err)
	}
	if _, err := TransformHgPush(ctx, body, doc(`not json`)); !errors.Is(err, ErrNotJSON) {
		t.Errorf("not JSON: %v", err)
	}
	if _, err := TransformHgPush(ctx, []byte(`{"payload":{"repo_url":"x","pushlog_pushes":[]}}`), doc(`{}`)); !errors.Is(err, ErrSchema) {
		t.Errorf("no pushlog pushes: %v", err)
	}
	failing := hgFunc(func(context.Context, string) (json.RawMessage, error) {
		return nil, &UpstreamError{URL: "u", StatusCode: 503, Retryable: true}
	})
	if _, err := TransformHgPush(ctx, body, failing); !IsRetryable(err) {
		t.Errorf("upstream failure: %v", err)
	}
}

func commit(sha, name, email, date, msg string) GitHubCommit {
	var c GitHubCommit
	c.SHA = sha
	c.Commit.Message = msg
	c.Commit.Author = GitHubPerson{Name: name, Email: email, Date: "2000-01-01T00:00:00Z"}
	c.Commit.Committer = GitHubPerson{Name: "GitHub", Email: "noreply@github.com", Date: date}
	return c
}

func githubPushBody(details map[string]any, webhookCommits ...map[string]any) []byte {
	d := map[string]any{
		"event.base.repo.branch": "main", "event.base.sha": "b0", "event.head.sha": "h1",
		"event.head.repo.url": "https://github.com/org/repo.git", "event.base.repo.url": "https://github.com/org/repo.git",
		"event.pullNumber": "42",
	}
	for k, v := range details {
		d[k] = v
	}
	b, _ := json.Marshal(map[string]any{"organization": "org", "repository": "repo", "details": d,
		"body": map[string]any{"commits": webhookCommits}})
	return b
}

func TestGitHubPushShape(t *testing.T) {
	ctx := context.Background()
	gh := &ghFake{compare: []GitHubCommit{
		commit("s1", "Ann", "ann@x", "2020-02-01T00:00:00Z", "one"),
		commit("s2", "Bob", "bob@x", "2020-02-12T15:29:12Z", "two"),
	}}
	d, err := TransformGitHubPush(ctx, githubPushBody(nil), gh)
	if err != nil {
		t.Fatal(err)
	}
	if gh.lastCall != "compare org/repo b0...h1" {
		t.Errorf("called %s", gh.lastCall)
	}
	if d.Revision != "s2" || d.Author != "bob@x" || d.PushTimestamp != 1581521352 ||
		len(d.Revisions) != 2 || d.Revisions[0].Author != "Ann <ann@x>" || d.Revisions[0].Comment != "one" {
		t.Errorf("push %+v", d)
	}

	// A new branch (null base) uses the webhook's commits, no API call.
	gh.callCount = 0
	d, err = TransformGitHubPush(ctx, githubPushBody(map[string]any{"event.base.sha": nullSHA},
		map[string]any{"id": "w1", "message": "m1", "timestamp": "2020-02-06T13:22:20-06:00", "author": map[string]any{"name": "U", "email": "u@x"}},
		map[string]any{"id": "w2", "message": "m2", "timestamp": "2020-02-12T15:29:12Z", "author": map[string]any{"name": "V", "email": "v@x"}},
	), gh)
	if err != nil {
		t.Fatal(err)
	}
	if gh.callCount != 0 || d.Revision != "w2" || len(d.Revisions) != 2 || d.Revisions[1].Author != "V <v@x>" || d.Author != "v@x" || d.PushTimestamp != 1581521352 {
		t.Errorf("new branch push %+v (%d calls)", d, gh.callCount)
	}

	// Pull requests: commits of the PR number.
	gh.pr = gh.compare
	if _, err := TransformGitHubPullRequest(ctx, githubPushBody(nil), gh); err != nil || gh.lastCall != "pr org/repo#42" {
		t.Errorf("pr: %v, %s", err, gh.lastCall)
	}

	// Errors.
	empty := &ghFake{}
	if _, err := TransformGitHubPush(ctx, githubPushBody(nil), empty); !errors.Is(err, ErrSchema) {
		t.Errorf("no commits: %v", err)
	}
	if _, err := TransformGitHubPush(ctx, githubPushBody(map[string]any{"event.base.sha": nullSHA}), empty); !errors.Is(err, ErrSchema) {
		t.Errorf("new branch without commits: %v", err)
	}
	if _, err := TransformGitHubPullRequest(ctx, githubPushBody(map[string]any{"event.pullNumber": "x"}), gh); !errors.Is(err, ErrSchema) {
		t.Errorf("bad PR number: %v", err)
	}
	failing := &ghFake{err: &UpstreamError{URL: "u", StatusCode: 502, Retryable: true}}
	if _, err := TransformGitHubPush(ctx, githubPushBody(nil), failing); !IsRetryable(err) {
		t.Errorf("upstream: %v", err)
	}
	if _, err := TransformGitHubPush(ctx, []byte(`{"details":`), gh); !errors.Is(err, ErrNotJSON) {
		t.Errorf("not JSON: %v", err)
	}
}

func TestGitHubRouting(t *testing.T) {
	m := githubMessage{Details: map[string]any{
		"event.head.repo.url": "https://github.com/org/my.github.io.git", "event.base.repo.branch": "main",
	}}
	url, branch := m.pushRepo()
	// Treeherder's .replace(".git", "") removes every occurrence.
	if url != "https://github.com/org/myhub.io" || branch != "main" {
		t.Errorf("%s %s", url, branch)
	}
	m.Details["event.head.tag"] = "v1.0"
	if _, branch := m.pushRepo(); branch != "tag" {
		t.Errorf("tag push branch %q", branch)
	}

	repos := []Repository{
		{Name: "repo-main", URL: "https://github.com/org/repo", Branches: []string{"main"}},
		{Name: "repo-releases", URL: "https://github.com/org/repo", Branches: []string{"releases/*"}},
		{Name: "repo-prs", URL: "https://github.com/org/repo", AcceptsPullRequests: true},
	}
	gh := &ghFake{compare: []GitHubCommit{commit("s1", "A", "a@x", "2020-02-01T00:00:00Z", "m")}}
	gh.pr = gh.compare
	p := NewPushTransformer(nil, gh, repos)
	ctx := context.Background()
	d, err := p.Push(ctx, ExchangeGitHubPush, githubPushBody(map[string]any{"event.base.repo.branch": "releases/v2"}))
	if err != nil || d.Project != "repo-releases" || d.Branch != "releases/v2" {
		t.Errorf("wildcard push: %+v %v", d, err)
	}
	d, err = p.Push(ctx, ExchangeGitHubPush, githubPushBody(nil))
	if err != nil || d.Project != "repo-main" || d.Branch != "" {
		t.Errorf("exact push: %+v %v", d, err)
	}
	d, err = p.Push(ctx, ExchangeGitHubPullRequest, githubPushBody(nil))
	if err != nil || d.Project != "repo-prs" {
		t.Errorf("pr: %+v %v", d, err)
	}
	if _, err := p.Push(ctx, ExchangeGitHubPush, githubPushBody(map[string]any{"event.base.repo.branch": "dev"})); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("unknown branch: %v", err)
	}
	if _, err := p.Push(ctx, ExchangeHgPushesV1, hgMessageBody("https://hg.mozilla.org/x", "u")); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("unknown hg repo: %v", err)
	}
}

func TestPushKindOf(t *testing.T) {
	cases := map[string]PushKind{
		ExchangeGitHubPush: PushGitHub, ExchangeGitHubPullRequest: PushGitHubPullRequest,
		ExchangeHgPushesV1: PushHg, ExchangeHgPushesV2: PushHg,
	}
	for ex, want := range cases {
		if got, err := PushKindOf(ex); err != nil || got != want {
			t.Errorf("%s: %v %v", ex, got, err)
		}
	}
	for _, ex := range []string{"meh", "exchange/taskcluster-github/v1/release", "exchange/hgpushes"} {
		if _, err := PushKindOf(ex); !errors.Is(err, ErrUnknownExchange) {
			t.Errorf("%s: %v", ex, err)
		}
	}
}

func TestResolveBranch(t *testing.T) {
	const url = "https://github.com/org/repo"
	r := func(name string, branches ...string) Repository {
		return Repository{Name: name, URL: url, Branches: branches}
	}
	cases := []struct {
		name   string
		repos  []Repository
		branch string
		want   Resolution
		err    error
	}{
		{"exact", []Repository{r("a", "master", "foo", "bar")}, "bar", Resolution{Repository: "a"}, nil},
		{"no match", []Repository{r("a", "master", "foo", "bar")}, "baz", Resolution{}, ErrUnknownRepository},
		{"catch-all", []Repository{r("a", "*")}, "my-feature", Resolution{Repository: "a", Branch: "my-feature"}, nil},
		{"special chars", []Repository{r("a", "*")}, "release/v1.2+hotfix", Resolution{Repository: "a", Branch: "release/v1.2+hotfix"}, nil},
		{"explicit beats wildcard", []Repository{r("wild", "*"), r("a", "master")}, "master", Resolution{Repository: "a"}, nil},
		{"prefix wildcard", []Repository{r("a", "releases/*")}, "releases/v1.2", Resolution{Repository: "a", Branch: "releases/v1.2"}, nil},
		{"prefix wildcard miss", []Repository{r("a", "releases/*")}, "master", Resolution{}, ErrUnknownRepository},
		{"ambiguous wildcards", []Repository{r("a", "releases/*"), r("b", "*")}, "releases/v1", Resolution{}, ErrAmbiguousRepository},
		{"ambiguous exact", []Repository{r("a", "main"), r("b", "main")}, "main", Resolution{}, ErrAmbiguousRepository},
		{"inactive skipped", []Repository{{Name: "a", URL: url, Branches: []string{"main"}, Inactive: true}, r("b", "*")}, "main", Resolution{Repository: "b", Branch: "main"}, nil},
		{"other url", []Repository{{Name: "a", URL: url + "2", Branches: []string{"main"}}}, "main", Resolution{}, ErrUnknownRepository},
		{"one repo, exact and wildcard", []Repository{r("a", "main", "release/*")}, "release/1", Resolution{Repository: "a", Branch: "release/1"}, nil},
	}
	for _, tc := range cases {
		got, err := ResolveBranch(tc.repos, url, tc.branch)
		if (tc.err == nil && err != nil) || (tc.err != nil && !errors.Is(err, tc.err)) || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestResolveHgAndPullRequest(t *testing.T) {
	const url = "https://hg.mozilla.org/try"
	repos := []Repository{
		{Name: "try", URL: url},
		{Name: "wildcard-hg", URL: url, Branches: []string{"*"}},
	}
	if r, err := ResolveHg(repos, url); err != nil || r.Repository != "try" {
		t.Errorf("hg ignores wildcard repos: %+v %v", r, err)
	}
	if _, err := ResolveHg(append(repos, Repository{Name: "try2", URL: url}), url); !errors.Is(err, ErrAmbiguousRepository) {
		t.Errorf("two hg repos: %v", err)
	}
	if _, err := ResolveHg([]Repository{{Name: "try", URL: url, Inactive: true}}, url); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("inactive: %v", err)
	}
	if _, err := ResolvePullRequest(repos, url); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("no PR repo: %v", err)
	}
	repos[0].AcceptsPullRequests = true
	if r, err := ResolvePullRequest(repos, url); err != nil || r.Repository != "try" {
		t.Errorf("PR repo: %+v %v", r, err)
	}
}
