package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/herder-ci/herder/sdk"
)

// Push exchanges.
const (
	ExchangeHgPushesV1        = "exchange/hgpushes/v1"
	ExchangeHgPushesV2        = "exchange/hgpushes/v2"
	ExchangeGitHubPush        = "exchange/taskcluster-github/v1/push"
	ExchangeGitHubPullRequest = "exchange/taskcluster-github/v1/pull-request"
)

// MaxHgChangesets is how many changesets of an hg push are kept (the last
// ones), to survive release-day merges of thousands of commits.
const MaxHgChangesets = 200

const nullSHA = "0000000000000000000000000000000000000000"

// PushKind says which transform an exchange selects.
type PushKind int

// Push kinds.
const (
	PushHg PushKind = iota + 1
	PushGitHub
	PushGitHubPullRequest
)

// PushKindOf picks the transform as Treeherder's get_transformer_class:
// "github" exchanges ending in push or pull-request, and any "/hgpushes/".
func PushKindOf(exchange string) (PushKind, error) {
	switch {
	case strings.Contains(exchange, "github") && strings.HasSuffix(exchange, "push"):
		return PushGitHub, nil
	case strings.Contains(exchange, "github") && strings.HasSuffix(exchange, "pull-request"):
		return PushGitHubPullRequest, nil
	case strings.Contains(exchange, "/hgpushes/"):
		return PushHg, nil
	}
	return 0, fmt.Errorf("push exchange %q: %w", exchange, ErrUnknownExchange)
}

// PushTransformer turns push messages into push data for the configured
// repositories (Treeherder's PushLoader.process, without the storing).
type PushTransformer struct {
	hg     PushFetcher
	github GitHubFetcher
	repos  []Repository
}

// NewPushTransformer routes pushes to repos and fetches details through hg
// and github (either may be nil if the plugin does not bind those exchanges).
func NewPushTransformer(hg PushFetcher, github GitHubFetcher, repos []Repository) *PushTransformer {
	return &PushTransformer{hg: hg, github: github, repos: repos}
}

// Push transforms one message from exchange. The datum has Project set, and
// Branch when a wildcard branch rule matched. Unknown and ambiguous
// repositories are ErrUnknownRepository / ErrAmbiguousRepository.
func (p *PushTransformer) Push(ctx context.Context, exchange string, body []byte) (sdk.PushDatum, error) {
	kind, err := PushKindOf(exchange)
	if err != nil {
		return sdk.PushDatum{}, err
	}
	var res Resolution
	var d sdk.PushDatum
	switch kind {
	case PushHg:
		var m hgMessage
		if err := decodeJSON(body, &m, "push-message"); err != nil {
			return d, err
		}
		if res, err = ResolveHg(p.repos, m.Payload.RepoURL); err != nil {
			return d, err
		}
		if p.hg == nil {
			return d, errors.New("hg push: no hg fetcher configured")
		}
		d, err = m.transform(ctx, p.hg)
	default:
		var m githubMessage
		if err := decodeJSON(body, &m, "push-message"); err != nil {
			return d, err
		}
		if kind == PushGitHub {
			url, branch := m.pushRepo()
			res, err = ResolveBranch(p.repos, url, branch)
		} else {
			res, err = ResolvePullRequest(p.repos, m.prRepo())
		}
		if err != nil {
			return d, err
		}
		if p.github == nil {
			return d, errors.New("github push: no GitHub fetcher configured")
		}
		if kind == PushGitHub {
			d, err = m.transformPush(ctx, p.github)
		} else {
			d, err = m.transformPullRequest(ctx, p.github)
		}
	}
	if err != nil {
		return sdk.PushDatum{}, err
	}
	d.Project, d.Branch = res.Repository, res.Branch
	return d, nil
}

// hgMessage is an exchange/hgpushes message body.
type hgMessage struct {
	Payload struct {
		RepoURL       string `json:"repo_url"`
		PushlogPushes []struct {
			PushFullJSONURL string `json:"push_full_json_url"`
		} `json:"pushlog_pushes"`
	} `json:"payload"`
}

// TransformHgPush fetches the push an hg message announces and shapes it
// (HgPushTransformer.transform). It does not resolve the repository.
func TransformHgPush(ctx context.Context, body []byte, f PushFetcher) (sdk.PushDatum, error) {
	var m hgMessage
	if err := decodeJSON(body, &m, "push-message"); err != nil {
		return sdk.PushDatum{}, err
	}
	return m.transform(ctx, f)
}

func (m *hgMessage) transform(ctx context.Context, f PushFetcher) (sdk.PushDatum, error) {
	if len(m.Payload.PushlogPushes) == 0 {
		return sdk.PushDatum{}, schemaErr("push-message", "payload.pushlog_pushes", "empty")
	}
	url := m.Payload.PushlogPushes[0].PushFullJSONURL
	raw, err := f.HgPushes(ctx, url)
	if err != nil {
		return sdk.PushDatum{}, fmt.Errorf("fetch hg push: %w", err)
	}
	return ParseHgPushes(url, raw)
}

// ParseHgPushes shapes a json-pushes (version 2, full) document: the first
// push, its last MaxHgChangesets changesets. A document without pushes is a
// retryable *UpstreamError (Treeherder retries HgPushFetchError; the push
// may not be visible yet); a malformed push is a *SchemaError.
func ParseHgPushes(url string, raw []byte) (sdk.PushDatum, error) {
	var doc struct {
		Pushes json.RawMessage `json:"pushes"`
	}
	if err := decodeJSON(raw, &doc, "hg-push"); err != nil {
		return sdk.PushDatum{}, err
	}
	var pushes map[string]json.RawMessage
	_ = json.Unmarshal(doc.Pushes, &pushes)
	ids, _ := orderedKeys(doc.Pushes)
	if len(ids) == 0 {
		return sdk.PushDatum{}, &UpstreamError{URL: url, Attempts: 1, Retryable: true, Err: errors.New("no pushes in response")}
	}
	var push struct {
		Changesets []struct {
			Node   string `json:"node"`
			Author string `json:"author"`
			Desc   string `json:"desc"`
		} `json:"changesets"`
		Date json.Number `json:"date"`
		User string      `json:"user"`
	}
	if err := decodeJSON(pushes[ids[0]], &push, "hg-push"); err != nil {
		return sdk.PushDatum{}, err
	}
	cs := push.Changesets
	if len(cs) == 0 {
		return sdk.PushDatum{}, schemaErr("hg-push", "pushes."+ids[0]+".changesets", "empty")
	}
	if len(cs) > MaxHgChangesets {
		cs = cs[len(cs)-MaxHgChangesets:]
	}
	date, ok := integral(push.Date)
	if !ok || math.Abs(date) > 1<<53 {
		return sdk.PushDatum{}, schemaErr("hg-push", "pushes."+ids[0]+".date", "want integer, got %q", string(push.Date))
	}
	d := sdk.PushDatum{
		Revision:      cs[len(cs)-1].Node,
		Author:        push.User,
		PushTimestamp: int64(date),
		Revisions:     make([]sdk.Revision, len(cs)),
	}
	for i, c := range cs {
		d.Revisions[i] = sdk.Revision{Revision: c.Node, Author: c.Author, Comment: c.Desc}
	}
	return d, nil
}

// githubMessage is a taskcluster-github push or pull-request message body.
type githubMessage struct {
	Organization string         `json:"organization"`
	Repository   string         `json:"repository"`
	Details      map[string]any `json:"details"`
	Body         struct {
		Commits []webhookCommit `json:"commits"`
	} `json:"body"`
}

type webhookCommit struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Author    struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
}

func (m *githubMessage) detail(key string) string {
	s, _ := m.Details[key].(string)
	return s
}

// repoURL drops ".git" the way Treeherder does: everywhere in the url.
func repoURL(u string) string { return strings.ReplaceAll(u, ".git", "") }

// pushRepo is the url and branch a GitHub push is routed by; tag pushes use
// the branch name "tag".
func (m *githubMessage) pushRepo() (url, branch string) {
	branch = m.detail("event.base.repo.branch")
	if truthy(m.Details["event.head.tag"]) {
		branch = "tag"
	}
	return repoURL(m.detail("event.head.repo.url")), branch
}

func (m *githubMessage) prRepo() string { return repoURL(m.detail("event.base.repo.url")) }

// TransformGitHubPush shapes a GitHub push (GithubPushTransformer.transform):
// the compare API's commits from base to head, or the webhook's own commits
// when the base is the null sha (a new branch). It does not resolve the
// repository.
func TransformGitHubPush(ctx context.Context, body []byte, f GitHubFetcher) (sdk.PushDatum, error) {
	var m githubMessage
	if err := decodeJSON(body, &m, "push-message"); err != nil {
		return sdk.PushDatum{}, err
	}
	return m.transformPush(ctx, f)
}

func (m *githubMessage) transformPush(ctx context.Context, f GitHubFetcher) (sdk.PushDatum, error) {
	base, head := m.detail("event.base.sha"), m.detail("event.head.sha")
	if base == nullSHA {
		return webhookPush(m.Body.Commits)
	}
	if base == "" || head == "" {
		return sdk.PushDatum{}, schemaErr("push-message", "details", "event.base.sha and event.head.sha are required")
	}
	commits, err := f.Compare(ctx, m.Organization, m.Repository, base, head)
	if err != nil {
		return sdk.PushDatum{}, fmt.Errorf("compare %s/%s %s...%s: %w", m.Organization, m.Repository, base, head, err)
	}
	return githubPush(commits)
}

// TransformGitHubPullRequest shapes a pull request's commits
// (GithubPullRequestTransformer.transform). It does not resolve the
// repository.
func TransformGitHubPullRequest(ctx context.Context, body []byte, f GitHubFetcher) (sdk.PushDatum, error) {
	var m githubMessage
	if err := decodeJSON(body, &m, "push-message"); err != nil {
		return sdk.PushDatum{}, err
	}
	return m.transformPullRequest(ctx, f)
}

func (m *githubMessage) transformPullRequest(ctx context.Context, f GitHubFetcher) (sdk.PushDatum, error) {
	number, err := pyInt(pyStr(m.Details["event.pullNumber"]))
	if err != nil || number <= 0 {
		return sdk.PushDatum{}, schemaErr("push-message", "details.event.pullNumber", "want a pull request number")
	}
	commits, err := f.PullRequestCommits(ctx, m.Organization, m.Repository, number)
	if err != nil {
		return sdk.PushDatum{}, fmt.Errorf("commits of %s/%s#%d: %w", m.Organization, m.Repository, number, err)
	}
	return githubPush(commits)
}

// githubPush: the head (last) commit gives the revision, the push time (its
// committer date, i.e. when it landed) and the author (its author's email).
func githubPush(commits []GitHubCommit) (sdk.PushDatum, error) {
	if len(commits) == 0 {
		return sdk.PushDatum{}, schemaErr("github-commits", "", "no commits")
	}
	head := commits[len(commits)-1]
	ts, err := ToTimestamp(head.Commit.Committer.Date)
	if err != nil {
		return sdk.PushDatum{}, schemaErr("github-commits", "commit.committer.date", "%v", err)
	}
	d := sdk.PushDatum{
		Revision:      head.SHA,
		Author:        head.Commit.Author.Email,
		PushTimestamp: ts,
		Revisions:     make([]sdk.Revision, len(commits)),
	}
	for i, c := range commits {
		d.Revisions[i] = sdk.Revision{
			Comment:  c.Commit.Message,
			Author:   fmt.Sprintf("%s <%s>", c.Commit.Author.Name, c.Commit.Author.Email),
			Revision: c.SHA,
		}
	}
	return d, nil
}

// webhookPush shapes a new branch's push from the webhook's commits.
func webhookPush(commits []webhookCommit) (sdk.PushDatum, error) {
	if len(commits) == 0 {
		return sdk.PushDatum{}, schemaErr("push-message", "body.commits", "no commits")
	}
	head := commits[len(commits)-1]
	ts, err := ToTimestamp(head.Timestamp)
	if err != nil {
		return sdk.PushDatum{}, schemaErr("push-message", "body.commits.timestamp", "%v", err)
	}
	d := sdk.PushDatum{
		Revision:      head.ID,
		Author:        head.Author.Email,
		PushTimestamp: ts,
		Revisions:     make([]sdk.Revision, len(commits)),
	}
	for i, c := range commits {
		d.Revisions[i] = sdk.Revision{
			Comment:  c.Message,
			Author:   fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
			Revision: c.ID,
		}
	}
	return d, nil
}
