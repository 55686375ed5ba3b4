package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/herder-ci/herder/core/model"
)

// RoleUser is what a signed-in user who is in no configured group gets: any
// signed-in user may classify failures, as in Treeherder.
const RoleUser = "user"

// MozillaGroupsClaim is where Mozilla's SSO puts group memberships; the
// standard "groups" claim is read too.
const MozillaGroupsClaim = "https://sso.mozilla.com/claim/groups"

// OIDCConfig configures sign-in through an OpenID Connect provider with the
// authorization code flow and PKCE.
type OIDCConfig struct {
	Issuer   string
	ClientID string
	// ClientSecret is empty for a public client (PKCE alone).
	ClientSecret string
	// SheriffGroup and AdminGroup name the groups (from the groups claim)
	// whose members get RoleSheriff and RoleAdmin; empty: nobody.
	SheriffGroup string
	AdminGroup   string
	// GroupsClaim names the claim holding groups; empty reads "groups" and
	// MozillaGroupsClaim.
	GroupsClaim string
	// Scopes requested besides "openid"; nil asks for email and profile.
	Scopes []string
	// HTTPClient talks to the provider; nil uses one with 15-second
	// timeouts and 1 MiB responses.
	HTTPClient *http.Client
}

// Identity is a verified sign-in.
type Identity struct {
	Issuer   string
	Subject  string
	Username string // the verified email, else "oidc/<subject>"
	Email    string
	Groups   []string
	Role     string // RoleUser, model.RoleSheriff or model.RoleAdmin
}

// OIDC signs users in. The provider is discovered on first use (and again
// after a failure), so herder starts while the provider is unreachable.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

// ErrProvider wraps failures to reach or understand the provider, as
// opposed to a sign-in the provider or herder refused.
var ErrProvider = errors.New("identity provider unavailable")

// NewOIDC checks the configuration; it does not contact the provider.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oidc issuer %q: want an absolute https URL", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: client id is empty")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second, Transport: limitBodies{http.DefaultTransport, 1 << 20}}
	}
	return &OIDC{cfg: cfg, client: client}, nil
}

// limitBodies caps what any provider response may make us read.
type limitBodies struct {
	rt  http.RoundTripper
	max int64
}

func (l limitBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, l.max), resp.Body}
	return resp, nil
}

func (o *OIDC) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, o.client) }

func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discover %s: %v", ErrProvider, o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth(p *oidc.Provider, redirectURL string) *oauth2.Config {
	scopes := o.cfg.Scopes
	if scopes == nil {
		scopes = []string{"email", "profile"}
	}
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  redirectURL,
		Scopes:       append([]string{oidc.ScopeOpenID}, scopes...),
	}
}

// NewLoginSecrets returns a fresh state, nonce and PKCE verifier for one
// sign-in attempt.
func NewLoginSecrets() (state, nonce, verifier string, err error) {
	if state, _, err = NewToken(); err != nil {
		return "", "", "", err
	}
	if nonce, _, err = NewToken(); err != nil {
		return "", "", "", err
	}
	return strings.TrimPrefix(state, tokenPrefix), strings.TrimPrefix(nonce, tokenPrefix), oauth2.GenerateVerifier(), nil
}

// AuthCodeURL is where to send the browser to sign in.
func (o *OIDC) AuthCodeURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return o.oauth(p, redirectURL).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems an authorization code and verifies the ID token that
// comes with it: signature, issuer, audience, expiry and nonce.
func (o *OIDC) Exchange(ctx context.Context, redirectURL, code, nonce, verifier string) (Identity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = o.ctx(ctx)
	tok, err := o.oauth(p, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, fmt.Errorf("redeem authorization code: %s", oauthErrorText(re))
		}
		return Identity{}, fmt.Errorf("%w: redeem authorization code: %v", ErrProvider, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("the provider returned no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("verify ID token: %w", err)
	}
	if idt.Nonce != nonce {
		return Identity{}, errors.New("verify ID token: nonce does not match this sign-in")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Identity{}, fmt.Errorf("verify ID token: %w", err)
		}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("read ID token claims: %w", err)
	}
	return o.identity(idt.Issuer, idt.Subject, claims), nil
}

func oauthErrorText(re *oauth2.RetrieveError) string {
	if re.ErrorCode != "" {
		if re.ErrorDescription != "" {
			return re.ErrorCode + ": " + re.ErrorDescription
		}
		return re.ErrorCode
	}
	return re.Response.Status
}

// identity maps claims to a user and a role.
func (o *OIDC) identity(issuer, subject string, claims map[string]any) Identity {
	id := Identity{Issuer: issuer, Subject: subject}
	email, _ := claims["email"].(string)
	verified := true
	switch v := claims["email_verified"].(type) {
	case bool:
		verified = v
	case string: // some providers send "true"/"false"
		verified = v != "false"
	}
	if email != "" && verified && len(email) <= 150 {
		id.Email, id.Username = email, email
	} else {
		id.Username = "oidc/" + subject
		if len(id.Username) > 150 {
			id.Username = id.Username[:150]
		}
	}
	names := []string{o.cfg.GroupsClaim}
	if o.cfg.GroupsClaim == "" {
		names = []string{"groups", MozillaGroupsClaim}
	}
	for _, n := range names {
		id.Groups = append(id.Groups, stringList(claims[n])...)
	}
	id.Role = RoleUser
	switch {
	case o.cfg.AdminGroup != "" && slices.Contains(id.Groups, o.cfg.AdminGroup):
		id.Role = model.RoleAdmin
	case o.cfg.SheriffGroup != "" && slices.Contains(id.Groups, o.cfg.SheriffGroup):
		id.Role = model.RoleSheriff
	}
	return id
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
