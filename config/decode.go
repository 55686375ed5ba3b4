package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decoder evaluates attributes and collects diagnostics, so one pass over a
// file reports every problem instead of stopping at the first.
//
// No diagnostic it writes quotes an attribute's value: values may come from
// env() and hold secrets (dsn, queue url).
type decoder struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	// failed marks attributes whose evaluation was already diagnosed, so that
	// checks depending on them stay quiet instead of piling on.
	failed map[*hcl.Attribute]bool
}

func (d *decoder) add(diags hcl.Diagnostics) { d.diags = append(d.diags, diags...) }

// addEval adds expression diagnostics, widening a failed function call's
// subject from its name to the whole call, env("NAME") included.
func (d *decoder) addEval(diags hcl.Diagnostics) {
	for _, diag := range diags {
		if _, isCall := diag.Expression.(*hclsyntax.FunctionCallExpr); isCall && diag.Context != nil && diag.Subject != nil &&
			diag.Context.Start.Byte == diag.Subject.Start.Byte {
			diag.Subject = diag.Context
		}
	}
	d.add(diags)
}

// good says whether attribute name is present and evaluated without error.
func (d *decoder) good(attrs hcl.Attributes, name string) bool {
	attr, ok := attrs[name]
	return ok && !d.failed[attr]
}

func (d *decoder) fail(attr *hcl.Attribute) {
	if d.failed == nil {
		d.failed = map[*hcl.Attribute]bool{}
	}
	d.failed[attr] = true
}

func (d *decoder) errorf(subject hcl.Range, summary, detailFormat string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject.Ptr(),
	})
}

// attrError reports a bad value on the attribute's expression.
func (d *decoder) attrError(attr *hcl.Attribute, summary, detailFormat string, args ...any) {
	d.fail(attr)
	d.errorf(attr.Expr.Range(), summary, detailFormat, args...)
}

// value evaluates attr converted to ty. ok is false when the attribute is
// absent, null (meaning "use the default") or invalid (already diagnosed).
func (d *decoder) value(attrs hcl.Attributes, name string, ty cty.Type) (v cty.Value, attr *hcl.Attribute, ok bool) {
	attr, present := attrs[name]
	if !present {
		return cty.NilVal, nil, false
	}
	if d.failed[attr] {
		return cty.NilVal, attr, false
	}
	raw, diags := attr.Expr.Value(d.ctx)
	d.addEval(diags)
	if diags.HasErrors() {
		d.fail(attr)
		return cty.NilVal, attr, false
	}
	if raw.IsNull() {
		return cty.NilVal, attr, false
	}
	if !raw.IsWhollyKnown() {
		d.attrError(attr, "Unknown value", "The value of %q cannot be known when the configuration is loaded.", name)
		return cty.NilVal, attr, false
	}
	conv, err := convert.Convert(raw, ty)
	if err != nil {
		d.attrError(attr, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s.", name, err)
		return cty.NilVal, attr, false
	}
	if conv.IsNull() {
		return cty.NilVal, attr, false
	}
	return conv, attr, true
}

func (d *decoder) str(attrs hcl.Attributes, name, def string) string {
	v, _, ok := d.value(attrs, name, cty.String)
	if !ok {
		return def
	}
	return v.AsString()
}

func (d *decoder) boolean(attrs hcl.Attributes, name string, def bool) bool {
	v, _, ok := d.value(attrs, name, cty.Bool)
	if !ok {
		return def
	}
	return v.True()
}

// integer decodes a whole number within [min, max]; present is false when the
// attribute is absent or null.
func (d *decoder) integer(attrs hcl.Attributes, name string, min, max int64) (n int64, present bool) {
	v, attr, ok := d.value(attrs, name, cty.Number)
	if !ok {
		return 0, false
	}
	if err := gocty.FromCtyValue(v, &n); err != nil {
		d.attrError(attr, "Invalid number", "Attribute %q must be a whole number: %s.", name, err)
		return 0, false
	}
	if n < min || n > max {
		d.attrError(attr, "Number out of range", "Attribute %q must be between %d and %d.", name, min, max)
		return 0, false
	}
	return n, true
}

func (d *decoder) intOr(attrs hcl.Attributes, name string, def int, min, max int64) int {
	n, ok := d.integer(attrs, name, min, max)
	if !ok {
		return def
	}
	return int(n)
}

func (d *decoder) duration(attrs hcl.Attributes, name string, def time.Duration) time.Duration {
	v, attr, ok := d.value(attrs, name, cty.String)
	if !ok {
		return def
	}
	dur, err := time.ParseDuration(v.AsString())
	if err != nil {
		d.attrError(attr, "Invalid duration", "Attribute %q must be a Go duration such as \"15s\" or \"2m30s\".", name)
		return def
	}
	if dur < 0 {
		d.attrError(attr, "Invalid duration", "Attribute %q must not be negative.", name)
		return def
	}
	return dur
}

func (d *decoder) strList(attrs hcl.Attributes, name string) ([]string, *hcl.Attribute) {
	v, attr, ok := d.value(attrs, name, cty.List(cty.String))
	if !ok {
		return nil, attr
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.attrError(attr, "Invalid list element", "Attribute %q must not contain null.", name)
			continue
		}
		out = append(out, e.AsString())
	}
	return out, attr
}

func (d *decoder) strMap(attrs hcl.Attributes, name string) map[string]string {
	v, attr, ok := d.value(attrs, name, cty.Map(cty.String))
	if !ok {
		return nil
	}
	out := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			d.attrError(attr, "Invalid map element", "Attribute %q must not contain null (key %q).", name, k.AsString())
			continue
		}
		out[k.AsString()] = e.AsString()
	}
	return out
}

// oneOf checks an enumerated string attribute; the value is safe to quote
// because it can only be one of the allowed words when it is valid, and the
// callers never use oneOf on secret attributes.
func (d *decoder) oneOf(attrs hcl.Attributes, name, def string, allowed ...string) string {
	v, attr, ok := d.value(attrs, name, cty.String)
	if !ok {
		return def
	}
	s := v.AsString()
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	d.attrError(attr, "Invalid value", "Attribute %q must be one of %s; got %q.", name, quoteList(allowed), s)
	return def
}

func quoteList(words []string) string {
	s := ""
	for i, w := range words {
		switch {
		case i == 0:
		case i == len(words)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprintf("%q", w)
	}
	return s
}
