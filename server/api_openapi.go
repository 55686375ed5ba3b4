package server

import (
	_ "embed"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/uptrace/bunrouter"
)

// buildOpenAPI generates the OpenAPI 3 document from the endpoint table:
// paths, query parameters (job filters included) and response schemas
// derived from the response types, fields in the order they are written.
func buildOpenAPI(eps []*endpoint) map[string]any {
	components := map[string]any{
		"Error": map[string]any{
			"type":       "object",
			"properties": map[string]any{"detail": map[string]any{"type": "string"}},
			"required":   []string{"detail"},
		},
	}
	paths := map[string]any{}
	for _, ep := range eps {
		path := openAPIPath(ep.path)
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		method := strings.ToLower(ep.method)
		if method == "" {
			method = "get"
		}
		item[method] = operation(ep, components)
	}
	paths["/api/schema/"] = map[string]any{"get": map[string]any{
		"summary": "This OpenAPI document.", "tags": []string{"meta"}, "operationId": "schema",
		"responses": map[string]any{"200": map[string]any{"description": "OpenAPI 3.0 document",
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}},
	}}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "herder API",
			"version":     "1.1",
			"description": "Treeherder's REST API as herder serves it: the same paths (with their trailing slash), parameters and shapes. Reads are anonymous. Errors are always {\"detail\": ...}. See docs/api.md.",
		},
		"paths":      paths,
		"components": map[string]any{"schemas": components},
	}
}

var (
	docsMu   sync.Mutex
	extraDoc []*endpoint
)

// documentRoute adds a route registered elsewhere (writes, sign-in) to the
// OpenAPI document. Call it from an init function: the document is built
// when the server is. Set external and, for anything but GET, method.
func documentRoute(ep *endpoint) {
	docsMu.Lock()
	defer docsMu.Unlock()
	extraDoc = append(extraDoc, ep)
}

func documentedRoutes() []*endpoint {
	docsMu.Lock()
	defer docsMu.Unlock()
	return append([]*endpoint(nil), extraDoc...)
}

var routeParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns /api/project/:project/ into /api/project/{project}/.
func openAPIPath(p string) string { return routeParam.ReplaceAllString(p, "{$1}") }

func operation(ep *endpoint, components map[string]any) map[string]any {
	var ps []any
	for _, m := range routeParam.FindAllStringSubmatch(ep.path, -1) {
		typ := "integer"
		if m[1] == "project" {
			typ = "string"
		}
		ps = append(ps, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": typ}})
	}
	for _, p := range ep.params {
		ps = append(ps, queryParam(p))
	}
	if ep.jobFilters != noJobFilters {
		for _, p := range jobFilterParams(ep.jobFilters == legacyJobFilterSet) {
			ps = append(ps, queryParam(p))
		}
	}
	ok := map[string]any{
		"description": "OK",
		"content":     map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(ep.response), components)}},
	}
	if ep.cached {
		ok["headers"] = map[string]any{
			"ETag":          map[string]any{"schema": map[string]any{"type": "string"}},
			"Cache-Control": map[string]any{"schema": map[string]any{"type": "string"}},
		}
	}
	errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
	op := map[string]any{
		"summary":     ep.summary,
		"tags":        []string{ep.tag},
		"operationId": operationID(ep.method, ep.path),
		"responses": map[string]any{
			"200": ok,
			"400": map[string]any{"description": "Malformed or unknown parameter", "content": errRef},
			"404": map[string]any{"description": "Unknown repository, push, job or page", "content": errRef},
		},
	}
	if ep.cached {
		op["responses"].(map[string]any)["304"] = map[string]any{"description": "Not modified (If-None-Match)"}
	}
	if len(ps) > 0 {
		op["parameters"] = ps
	}
	return op
}

func operationID(method, path string) string {
	if method != "" && method != http.MethodGet {
		path = strings.ToLower(method) + "/" + path
	}
	parts := strings.FieldsFunc(strings.Replace(path, "/api/", "/", 1), func(r rune) bool { return r == '/' || r == '-' })
	var b strings.Builder
	for _, p := range parts {
		if strings.HasPrefix(p, ":") {
			p = "by_" + p[1:]
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(p)
	}
	return b.String()
}

var paramTypes = map[string]map[string]any{
	"integer":      {"type": "integer"},
	"number":       {"type": "number"},
	"string":       {"type": "string"},
	"boolean":      {"type": "string", "description": "true or false"},
	"date":         {"type": "string", "format": "date"},
	"date-time":    {"type": "string", "format": "date-time"},
	"integer-list": {"type": "string", "pattern": `^\d+(,\d+)*$`},
	"string-list":  {"type": "string"},
}

func queryParam(p apiParam) map[string]any {
	schema := paramTypes[p.typ]
	if schema == nil {
		schema = map[string]any{"type": "string"}
	}
	if p.repeat {
		schema = map[string]any{"type": "array", "items": schema}
	}
	out := map[string]any{"name": p.name, "in": "query", "schema": schema}
	if p.required {
		out["required"] = true
	}
	if p.repeat {
		out["style"], out["explode"] = "form", true
	}
	if p.desc != "" {
		out["description"] = p.desc
	}
	return out
}

// jobFilterParams lists the job filters with their lookups, for the docs.
func jobFilterParams(legacy bool) []apiParam {
	var out []apiParam
	add := func(name string, f jobFilter) {
		typ := map[valueKind]string{kindInt: "integer", kindString: "string", kindSeconds: "date-time",
			kindMicros: "date-time", kindUnix: "number"}[f.kind]
		out = append(out, apiParam{name: name, typ: typ, desc: "Job filter."})
		for _, l := range f.lookups {
			t := typ
			if l == "in" {
				t = "string-list"
			}
			out = append(out, apiParam{name: name + "__" + l, typ: t, desc: "Job filter."})
		}
	}
	names := make([]string, 0, len(jobFilters))
	for n := range jobFilters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(n, jobFilters[n])
	}
	if legacy {
		names = names[:0]
		for n := range legacyJobFilters {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			add(n, legacyJobFilters[n])
		}
	}
	return out
}

// schemaOf describes a Go type as a JSON schema; named structs become
// components, their properties listed in field order.
func schemaOf(t reflect.Type, components map[string]any) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem(), components)
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeOf(object{}) {
			return map[string]any{"type": "object", "additionalProperties": true}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), components)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), components)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := componentName(t)
		if name != "" {
			if _, done := components[name]; done {
				return map[string]any{"$ref": "#/components/schemas/" + name}
			}
			components[name] = map[string]any{} // reserve against recursion
		}
		props := map[string]any{}
		var order []string
		var required []string
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if f.Anonymous && f.Type.Kind() == reflect.Struct {
					walk(f.Type)
					continue
				}
				tag := f.Tag.Get("json")
				key, opts, _ := strings.Cut(tag, ",")
				if key == "-" || !f.IsExported() {
					continue
				}
				if key == "" {
					key = f.Name
				}
				props[key] = schemaOf(f.Type, components)
				order = append(order, key)
				if !strings.Contains(opts, "omitempty") {
					required = append(required, key)
				}
			}
		}
		walk(t)
		s := map[string]any{"type": "object", "properties": props, "x-property-order": order}
		if len(required) > 0 {
			s["required"] = required
		}
		if name == "" {
			return s
		}
		components[name] = s
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// componentName names a response struct for the schema: pushJSON -> Push.
func componentName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return ""
	}
	n = strings.TrimSuffix(strings.TrimSuffix(n, "JSON"), "Doc")
	return strings.ToUpper(n[:1]) + n[1:]
}

//go:embed api_docs.html
var docsPage []byte

// serveDocs serves the API docs page, which renders /api/schema/ with a
// little inline script and loads nothing from elsewhere.
func serveDocs(w http.ResponseWriter, req bunrouter.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_, err := w.Write(docsPage)
	return err
}
