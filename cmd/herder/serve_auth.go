package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/server"
)

// Secrets and settings the HCL file does not hold: the OIDC client secret
// is a secret, and the admin group waits for an `admin_group` attribute.
const (
	oidcClientSecretEnv = "HERDER_OIDC_CLIENT_SECRET"
	oidcAdminGroupEnv   = "HERDER_OIDC_ADMIN_GROUP"
)

// configureWrites fills in the server options for sign-in (auth block),
// cookies (server.public_url) and the raw-log proxy (allowed_hosts).
func configureWrites(opts *server.Options, cfg *config.Config, log hclog.Logger) error {
	opts.PublicURL = cfg.Server.PublicURL
	opts.RawLogs.AllowedHosts = rawLogHosts(cfg)
	if cfg.Auth.OIDCIssuer == "" {
		return nil
	}
	o, err := auth.NewOIDC(auth.OIDCConfig{
		Issuer:       cfg.Auth.OIDCIssuer,
		ClientID:     cfg.Auth.OIDCClientID,
		ClientSecret: os.Getenv(oidcClientSecretEnv),
		SheriffGroup: cfg.Auth.SheriffGroup,
		AdminGroup:   os.Getenv(oidcAdminGroupEnv),
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	key, err := server.LoadSessionKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("auth: session key: %w", err)
	}
	opts.OIDC, opts.SessionKey = o, key
	log.Info("sign-in enabled", "issuer", cfg.Auth.OIDCIssuer, "sheriff_group", cfg.Auth.SheriffGroup)
	return nil
}

// rawLogHosts are the hosts the raw-log proxy may fetch from: the
// top-level allowed_hosts and every processor's (the log parser's).
func rawLogHosts(cfg *config.Config) []string {
	hosts := append([]string(nil), cfg.AllowedHost...)
	for _, p := range cfg.Processors {
		var c struct {
			AllowedHosts []string `json:"allowed_hosts"`
		}
		if json.Unmarshal(p.Config, &c) == nil {
			for _, h := range c.AllowedHosts {
				if !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
	}
	return hosts
}
