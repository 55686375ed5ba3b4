package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// decodeJSON decodes data into v with numbers kept as json.Number. A body
// that is not JSON at all is ErrNotJSON; JSON of the wrong shape is a
// *SchemaError for the named document.
func decodeJSON(data []byte, v any, doc string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return schemaErr(doc, typeErr.Field, "want %s, got JSON %s", typeErr.Type, typeErr.Value)
		}
		if json.Valid(data) {
			// JSON, but not of the shape decoded into (e.g. a string where a
			// number belongs).
			return schemaErr(doc, "", "%v", err)
		}
		return fmt.Errorf("%s: %w: %v", doc, ErrNotJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: %w: data after the JSON value", doc, ErrNotJSON)
	}
	return nil
}

// truthy is Python's bool() of a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// toInt converts a value that passed an "integer" schema check.
func toInt(v any) int {
	x, _ := integral(v)
	if x > math.MaxInt32 || x < math.MinInt32 {
		// Beyond anything Treeherder stores; clamp rather than overflow.
		return int(math.Copysign(math.MaxInt32, x))
	}
	return int(x)
}

// pyStr is Python's str() of a decoded JSON scalar, for the few places
// Treeherder formats one into a string.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			return s
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return s
		}
		return pyFloat(f)
	case float64:
		return pyFloat(x)
	}
	return fmt.Sprint(v)
}

func pyFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// orderedKeys returns the member names of a JSON object in document order
// (Python dicts keep it; Go maps do not).
func orderedKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not an object")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// sliceRunes is Python's s[:n].
func sliceRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
