// Package pulsetest holds what the pulse plugin's tests share: a fake of the
// internet (Taskcluster, hg.mozilla.org, GitHub) reachable under the real
// host names, a per-test RabbitMQ vhost, and the Treeherder fixtures.
package pulsetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeHosts are the names the fake answers for (its certificate's names).
var FakeHosts = []string{
	"taskcluster.net", "firefox-ci-tc.services.mozilla.com", "community-tc.services.mozilla.com",
	"hg.mozilla.org", "api.github.com",
}

// Upstream is one HTTPS server answering for every FakeHosts name, with a
// certificate for them, and an HTTP CONNECT proxy in front of it. A plugin
// process reaches it with HTTPS_PROXY and trusts it with SSL_CERT_FILE (Env),
// so URLs keep their real hosts and outputs match Treeherder's fixtures.
type Upstream struct {
	srv    *httptest.Server
	proxy  *httptest.Server
	cert   string // PEM file
	pool   *x509.CertPool
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	// prefixes are HandlePrefix's routes, tried in order after routes.
	prefixes []prefixRoute
	hits     map[string]int
}

// NewUpstream starts the fake; it stops when the test ends.
func NewUpstream(t testing.TB) *Upstream {
	t.Helper()
	u := &Upstream{routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	certPEM, keyPEM := selfSigned(t, FakeHosts)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	u.pool = x509.NewCertPool()
	u.pool.AppendCertsFromPEM(certPEM)
	u.cert = filepath.Join(t.TempDir(), "fake-ca.pem")
	if err := os.WriteFile(u.cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	target := u.srv.Listener.Addr().String()
	u.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		dst, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(dst, buf)
			_ = dst.(*net.TCPConn).CloseWrite()
		}()
		_, _ = io.Copy(conn, dst)
		conn.Close()
		dst.Close()
	}))
	t.Cleanup(u.proxy.Close)
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	host, _, ok := strings.Cut(r.Host, ":")
	if !ok {
		host = r.Host
	}
	key := host + r.URL.Path
	u.mu.Lock()
	h, found := u.routes[key]
	if !found {
		for _, p := range u.prefixes {
			if strings.HasPrefix(key, p.prefix) {
				h, found = p.h, true
				break
			}
		}
	}
	u.hits[key]++
	u.mu.Unlock()
	if !found {
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
		return
	}
	h(w, r)
}

// Handle routes "host/path" (no query) to h.
func (u *Upstream) Handle(hostPath string, h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.routes[hostPath] = h
}

// ServeJSON answers "host/path" with body.
func (u *Upstream) ServeJSON(hostPath string, body []byte) {
	u.Handle(hostPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Hits counts requests to "host/path".
func (u *Upstream) Hits(hostPath string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[hostPath]
}

// Env is the environment a plugin process needs to reach the fake.
func (u *Upstream) Env() []string {
	return []string{"HTTPS_PROXY=" + u.proxy.URL, "https_proxy=" + u.proxy.URL, "NO_PROXY=", "no_proxy=",
		"SSL_CERT_FILE=" + u.cert, "SSL_CERT_DIR=" + filepath.Dir(u.cert)}
}

// SetEnv puts Env into the test process's environment, which plugin
// processes inherit. go-plugin appends the host's environment after a
// plugin's own Env, so a variable the host already has (SSL_CERT_FILE is
// commonly set) can only be replaced this way. Tests using it cannot be
// parallel.
func (u *Upstream) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range u.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Transport reaches the fake from inside the test process.
func (u *Upstream) Transport() http.RoundTripper {
	addr := u.srv.Listener.Addr().String()
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: u.pool},
		MaxIdleConnsPerHost: 64,
	}
}

func selfSigned(t testing.TB, hosts []string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "herder test upstream"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              hosts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// HandlePrefix routes every "host/path" starting with hostPathPrefix to h,
// for fakes too large to register path by path (a load test's tasks).
// Exact routes (Handle) win over prefixes.
func (u *Upstream) HandlePrefix(hostPathPrefix string, h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.prefixes = append(u.prefixes, prefixRoute{hostPathPrefix, h})
}

type prefixRoute struct {
	prefix string
	h      http.HandlerFunc
}
