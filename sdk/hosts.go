package sdk

import (
	"net"
	"net/url"
	"strings"
)

// HostAllowed reports whether u may be fetched under allowed-host patterns:
// "example.org" (that host), "*.example.org" (any subdomain of it),
// "host:port" (that port only; a URL without a port has its scheme's
// default), or "*" (anything). Only http and https URLs are ever allowed.
// Plugins and the host share it so an operator's allowed_hosts means the
// same everywhere.
func HostAllowed(patterns []string, u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "*" {
			return true
		}
		ph, pp := strings.ToLower(p), ""
		if hh, hp, err := net.SplitHostPort(p); err == nil {
			ph, pp = strings.ToLower(hh), hp
		}
		if pp != "" && pp != port {
			continue
		}
		if suffix, ok := strings.CutPrefix(ph, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == strings.TrimSuffix(ph, ".") {
			return true
		}
	}
	return false
}
