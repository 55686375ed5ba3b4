package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/internal/oidctest"
)

const redirect = "http://127.0.0.1:1/api/auth/callback/"

// signIn runs the authorization step against the test provider and returns
// the code it redirects back with.
func signIn(t *testing.T, o *auth.OIDC, state, nonce, verifier string) string {
	t.Helper()
	u, err := o.AuthCodeURL(context.Background(), redirect, state, nonce, verifier)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect back = %s", loc)
	}
	return loc.Query().Get("code")
}

func TestOIDCExchange(t *testing.T) {
	p := oidctest.New(t, "herder", "s3cret")
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer, ClientID: "herder", ClientSecret: "s3cret",
		SheriffGroup: "sheriffs", AdminGroup: "herder-admins"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		user oidctest.User
		want auth.Identity
	}{
		{oidctest.User{Subject: "a", Email: "a@example.com", EmailVerified: true, Groups: []string{"sheriffs"}},
			auth.Identity{Subject: "a", Username: "a@example.com", Email: "a@example.com", Role: model.RoleSheriff}},
		{oidctest.User{Subject: "b", Email: "b@example.com", EmailVerified: true, Groups: []string{"sheriffs", "herder-admins"}},
			auth.Identity{Subject: "b", Username: "b@example.com", Email: "b@example.com", Role: model.RoleAdmin}},
		{oidctest.User{Subject: "c", Email: "c@example.com", EmailVerified: true},
			auth.Identity{Subject: "c", Username: "c@example.com", Email: "c@example.com", Role: auth.RoleUser}},
		// An unverified email is not a username anyone could claim.
		{oidctest.User{Subject: "d", Email: "admin@example.com", EmailVerified: false, Groups: []string{"other"}},
			auth.Identity{Subject: "d", Username: "oidc/d", Role: auth.RoleUser}},
	}
	for _, c := range cases {
		p.SetUser(c.user)
		state, nonce, verifier, err := auth.NewLoginSecrets()
		if err != nil {
			t.Fatal(err)
		}
		code := signIn(t, o, state, nonce, verifier)
		id, err := o.Exchange(ctx, redirect, code, nonce, verifier)
		if err != nil {
			t.Fatalf("%s: %v", c.user.Subject, err)
		}
		if id.Issuer != p.Issuer || id.Subject != c.want.Subject || id.Username != c.want.Username || id.Email != c.want.Email || id.Role != c.want.Role {
			t.Errorf("%s: identity %+v, want %+v", c.user.Subject, id, c.want)
		}
		// A code is redeemed once.
		if _, err := o.Exchange(ctx, redirect, code, nonce, verifier); err == nil {
			t.Errorf("%s: a code was redeemed twice", c.user.Subject)
		}
	}
}

func TestOIDCRefusals(t *testing.T) {
	p := oidctest.New(t, "herder", "s3cret")
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer, ClientID: "herder", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	try := func(tamper func(map[string]any), mutate func(nonce, verifier *string)) error {
		p.Tamper(tamper)
		defer p.Tamper(nil)
		state, nonce, verifier, err := auth.NewLoginSecrets()
		if err != nil {
			t.Fatal(err)
		}
		code := signIn(t, o, state, nonce, verifier)
		if mutate != nil {
			mutate(&nonce, &verifier)
		}
		_, err = o.Exchange(ctx, redirect, code, nonce, verifier)
		return err
	}
	if err := try(nil, nil); err != nil {
		t.Fatalf("a good sign-in failed: %v", err)
	}
	for name, c := range map[string]struct {
		tamper func(map[string]any)
		mutate func(nonce, verifier *string)
	}{
		"another nonce":        {mutate: func(n, _ *string) { *n = "other" }},
		"another verifier":     {mutate: func(_, v *string) { *v = strings.Repeat("v", 43) }},
		"another audience":     {tamper: func(c map[string]any) { c["aud"] = "someone-else" }},
		"another issuer":       {tamper: func(c map[string]any) { c["iss"] = "https://evil.example.com" }},
		"expired":              {tamper: func(c map[string]any) { c["exp"] = 1000 }},
		"signed by a stranger": {tamper: oidctest.WrongKey},
	} {
		if err := try(c.tamper, c.mutate); err == nil {
			t.Errorf("%s: sign-in accepted", name)
		}
	}

	// A provider that is down is ErrProvider, and discovery is retried.
	down, err := auth.NewOIDC(auth.OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "herder"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.AuthCodeURL(ctx, redirect, "s", "n", "v"); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("unreachable provider: %v", err)
	}
	for _, bad := range []auth.OIDCConfig{{Issuer: "not a url", ClientID: "x"}, {Issuer: "ftp://x", ClientID: "x"}, {Issuer: "https://x"}} {
		if _, err := auth.NewOIDC(bad); err == nil {
			t.Errorf("NewOIDC(%+v) accepted", bad)
		}
	}
}
