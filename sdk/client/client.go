// Package client is a Go client for herder's REST API, which speaks
// Treeherder's paths and shapes, so it also reads from Treeherder itself.
//
//	c := client.New("http://localhost:8080")
//	pushes, err := c.Pushes(ctx, "autoland", &client.PushFilter{Count: 20})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) { log.Print(apiErr.StatusCode, apiErr.Detail) }
//
// Every method takes a context and returns typed values; errors from the
// server carry the HTTP status and the server's {"detail": ...} text, and
// match ErrNotFound, ErrBadRequest, ErrUnauthorized and ErrForbidden with
// errors.Is. The package imports nothing of herder's, like the rest of sdk.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Errors an *Error matches with errors.Is, by status code.
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
)

// Error is a response with a 4xx or 5xx status.
type Error struct {
	Method     string
	URL        string
	StatusCode int
	// Detail is the server's {"detail": ...} text, or the body when the
	// server answered something else.
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Detail)
}

// Is lets errors.Is match an *Error against ErrNotFound and its siblings.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// Client talks to one herder (or Treeherder) server.
type Client struct {
	base      string
	http      *http.Client
	userAgent string
	token     string
	maxBody   int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses hc for requests (its timeout, transport, proxies).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent replaces the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithAPIToken sends "Authorization: Bearer token" with every request.
func WithAPIToken(token string) Option { return func(c *Client) { c.token = token } }

// WithMaxResponseBytes bounds how much of a response body is read (default
// 256 MiB); a longer body is an error.
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// New returns a client of the server at baseURL, e.g. "http://localhost:8080"
// or "https://treeherder.mozilla.org". A malformed URL surfaces as the error
// of the first request.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		http:      &http.Client{Timeout: 60 * time.Second},
		userAgent: "herder-client/1",
		maxBody:   256 << 20,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Response is a raw answer of Raw.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Raw GETs path (e.g. "/api/jobs/") with query and extra headers, and
// returns the answer as is. Statuses of 400 and above are returned as *Error;
// anything below (including 304) is a Response.
func (c *Client) Raw(ctx context.Context, path string, query url.Values, header http.Header) (*Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return c.do(ctx, u, header)
}

func (c *Client) do(ctx context.Context, u string, header http.Header) (*Response, error) {
	if _, err := url.ParseRequestURI(u); err != nil {
		return nil, fmt.Errorf("herder client: bad URL %q: %w", u, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("herder client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("herder client: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("herder client: read %s: %w", u, err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("herder client: %s: response larger than %d bytes", u, c.maxBody)
	}
	if resp.StatusCode >= 400 {
		e := &Error{Method: http.MethodGet, URL: u, StatusCode: resp.StatusCode, Detail: strings.TrimSpace(string(body))}
		var shaped struct {
			Detail *string `json:"detail"`
		}
		if json.Unmarshal(body, &shaped) == nil && shaped.Detail != nil {
			e.Detail = *shaped.Detail
		}
		return nil, e
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Get GETs path with query and decodes the JSON answer into v.
func (c *Client) Get(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := c.Raw(ctx, path, query, nil)
	if err != nil {
		return err
	}
	return decode(resp.Body, path, v)
}

func (c *Client) getURL(ctx context.Context, u string, v any) error {
	resp, err := c.do(ctx, u, nil)
	if err != nil {
		return err
	}
	return decode(resp.Body, u, v)
}

func decode(body []byte, what string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("herder client: decode %s: %w", what, err)
	}
	return nil
}

// project is the path prefix of a repository's endpoints.
func project(repo string) string { return "/api/project/" + url.PathEscape(repo) }
