package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"
	"github.com/herder-ci/herder/plugins/github/source"
	"github.com/herder-ci/herder/sdk"
)

// githubTransport lets tests route the backfill's requests; nil is the
// default transport.
var githubTransport http.RoundTripper

func newIngestGitHubCmd() *cobra.Command {
	var repo, since, herderRepo, apiURL, tokenEnv string
	var noPulls, noActions bool
	var maxPages int
	c := &cobra.Command{
		Use:   "github --repo OWNER/NAME --since DATE [--herder-repo NAME]",
		Short: "Import a GitHub repository's pushes, pull requests and Actions jobs since a date",
		Long: "github reads a GitHub repository's history through the REST API, as the github source\n" +
			"plugin shapes it: pushes from the repository activity list (older history, where that list\n" +
			"ends, as one push per commit of the configured branches), pull requests updated since the\n" +
			"date (when the herder repository accepts pull requests) and the jobs of workflow runs\n" +
			"created since the date. It stores them in the configured database. The token comes from\n" +
			"the environment (--token-env); rate limits are waited out.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if repo == "" || since == "" {
				return usageError(errors.New("ingest github: --repo and --since are required"))
			}
			full := strings.Trim(strings.TrimSpace(repo), "/")
			if o, n, ok := strings.Cut(full, "/"); !ok || o == "" || n == "" || strings.Contains(n, "/") {
				return usageError(fmt.Errorf("ingest github: --repo %q: want owner/name", repo))
			}
			from, err := parseSince(since, time.Now())
			if err != nil {
				return usageError(fmt.Errorf("ingest github: %w", err))
			}
			ctx := contextOrBackground(cmd.Context())
			in, err := openIngest(ctx)
			if err != nil {
				return err
			}
			defer in.close()
			r, err := in.githubRepository(full, herderRepo)
			if err != nil {
				return err
			}
			if err := in.githubAPIAllowed(apiURL, r); err != nil {
				return err
			}
			bf, err := source.NewBackfill(source.BackfillOptions{
				Repo: full, HerderRepo: r.Name, Branches: r.Branches, AcceptsPullRequests: r.AcceptsPullRequests,
				Since: from, APIURL: apiURL, WebURL: webRoot(r.URL), Token: os.Getenv(tokenEnv), MaxPages: maxPages,
				NoPulls: noPulls, NoActions: noActions, Transport: githubTransport,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err != nil {
				return usageError(err)
			}
			plan, err := bf.Plan(ctx)
			if err != nil {
				return fmt.Errorf("list %s: %w", full, err)
			}
			bar := newProgress(cmd.ErrOrStderr(), "github", plan.Total())
			sum, err := bf.Run(ctx, plan, func(ctx context.Context, evs []sdk.Event) error {
				if err := in.pipeline.Accept(ctx, ingestSource, evs); err != nil {
					return fmt.Errorf("store: %w", err)
				}
				return nil
			}, bar.add)
			bar.finish()
			fmt.Fprintf(cmd.OutOrStdout(), "%s since %s into %s: %d pushes, %d pull requests, %d jobs stored; %d ignored, %d failed\n",
				full, from.UTC().Format(time.RFC3339), r.Name, sum.Pushes, sum.PullRequests, sum.Jobs, sum.Ignored, len(sum.Failed))
			if err != nil {
				return err
			}
			if len(sum.Failed) > 0 {
				shown := sum.Failed[:min(len(sum.Failed), 5)]
				return fmt.Errorf("%d items failed: %w", len(sum.Failed), errors.Join(shown...))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&repo, "repo", "", "GitHub repository, owner/name")
	f.StringVar(&since, "since", "", "oldest date read: 2006-01-02, RFC 3339, or an age such as 7d or 36h")
	f.StringVar(&herderRepo, "herder-repo", "", "herder repository to store into (default: the one whose url is the GitHub repository's)")
	f.StringVar(&apiURL, "api-url", api.DefaultBaseURL, "GitHub REST root (GitHub Enterprise Server: https://HOST/api/v3)")
	f.StringVar(&tokenEnv, "token-env", source.DefaultTokenEnv, "environment variable holding a GitHub token (unset: unauthenticated, 60 calls an hour)")
	f.BoolVar(&noPulls, "no-pulls", false, "leave pull requests out")
	f.BoolVar(&noActions, "no-actions", false, "leave GitHub Actions jobs out")
	f.IntVar(&maxPages, "max-pages", 100, "pages of 100 read per listing at most")
	return c
}

// webRoot is the scheme and host of a repository URL (https://github.com).
func webRoot(repoURL string) string {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return events.DefaultWebURL
	}
	return u.Scheme + "://" + u.Host
}

// githubRepository finds the herder repository to store into: the named
// one, or the single git repository whose url is the GitHub repository's.
func (in *ingestRun) githubRepository(full, name string) (model.Repository, error) {
	if name != "" {
		r, err := in.repository(context.Background(), name)
		if err != nil {
			return r, err
		}
		if r.DVCSType == "hg" {
			return r, usageError(fmt.Errorf("ingest github: %s is an hg repository", r.Name))
		}
		return r, nil
	}
	var found []model.Repository
	for _, r := range in.repos {
		u, err := url.Parse(strings.TrimSuffix(strings.TrimRight(r.URL, "/"), ".git"))
		if err != nil || r.DVCSType == "hg" {
			continue
		}
		if strings.EqualFold(strings.Trim(u.Path, "/"), full) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return model.Repository{}, usageError(fmt.Errorf("ingest github: no repository's url is that of %s: add a repository block or pass --herder-repo", full))
	}
	names := make([]string, len(found))
	for i, r := range found {
		names[i] = r.Name
	}
	return model.Repository{}, usageError(fmt.Errorf("ingest github: %s is the url of %s: pass --herder-repo", full, strings.Join(names, ", ")))
}

// githubAPIAllowed checks the API host against the config's allowed_hosts,
// which always include the API of the repository's own host (api.github.com
// for github.com, the host itself for GitHub Enterprise Server).
func (in *ingestRun) githubAPIAllowed(apiURL string, r model.Repository) error {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usageError(fmt.Errorf("ingest github: --api-url %q: want an absolute http(s) URL", apiURL))
	}
	hosts := append([]string(nil), in.cfg.AllowedHost...)
	if ru, err := url.Parse(r.URL); err == nil && ru.Host != "" {
		hosts = append(hosts, ru.Host, "api."+ru.Host)
	}
	if !sdk.HostAllowed(hosts, u) {
		return usageError(fmt.Errorf("ingest github: %s is not in allowed_hosts", u.Host))
	}
	return nil
}
