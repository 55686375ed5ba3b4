package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestTaskConfigRules(t *testing.T) {
	valid := func(mod func(c map[string]any)) error {
		c := map[string]any{"symbol": "B"}
		mod(c)
		b, _ := json.Marshal(c)
		var v any
		if err := decodeJSON(b, &v, "test"); err != nil {
			t.Fatal(err)
		}
		return ValidateTaskConfig(v)
	}
	ok := []func(c map[string]any){
		func(c map[string]any) {},
		func(c map[string]any) { c["symbol"] = "" },
		func(c map[string]any) { c["symbol"] = strings.Repeat("s", 25) },
		func(c map[string]any) { c["tier"] = json.Number("2.0") },                         // integral floats are integers (draft 7)
		func(c map[string]any) { c["machine"] = map[string]any{"platform": "linux64\n"} }, // Python `$` quirk
		func(c map[string]any) { c["labels"] = []any{"opt", "a_b-c"} },
		func(c map[string]any) { c["collection"] = map[string]any{"anything goes": 1} },
		func(c map[string]any) { c["unknownKey"] = []any{1} }, // additionalProperties: true
		func(c map[string]any) { c["groupName"] = strings.Repeat("é", 255) },
	}
	for i, mod := range ok {
		if err := valid(mod); err != nil {
			t.Errorf("ok[%d]: %v", i, err)
		}
	}
	bad := []struct {
		mod   func(c map[string]any)
		field string
	}{
		{func(c map[string]any) { delete(c, "symbol") }, "extra.treeherder.symbol"},
		{func(c map[string]any) { c["symbol"] = 1 }, "extra.treeherder.symbol"},
		{func(c map[string]any) { c["symbol"] = strings.Repeat("s", 26) }, "extra.treeherder.symbol"},
		{func(c map[string]any) { c["tier"] = 0 }, "extra.treeherder.tier"},
		{func(c map[string]any) { c["tier"] = true }, "extra.treeherder.tier"},
		{func(c map[string]any) { c["tier"] = json.Number("1.5") }, "extra.treeherder.tier"},
		{func(c map[string]any) { c["jobKind"] = "lint" }, "extra.treeherder.jobKind"},
		{func(c map[string]any) { c["machine"] = map[string]any{} }, "extra.treeherder.machine.platform"},
		{func(c map[string]any) { c["machine"] = map[string]any{"platform": "p", "cpu": "x"} }, "extra.treeherder.machine.cpu"},
		{func(c map[string]any) { c["machine"] = map[string]any{"platform": "linux 64"} }, "extra.treeherder.machine.platform"},
		{func(c map[string]any) { c["machine"] = map[string]any{"platform": "linux64\n\n"} }, "extra.treeherder.machine.platform"},
		{func(c map[string]any) { c["machine"] = map[string]any{"platform": "línux"} }, "extra.treeherder.machine.platform"},
		{func(c map[string]any) { c["labels"] = []any{"a", ""} }, "extra.treeherder.labels.1"},
		{func(c map[string]any) { c["labels"] = "opt" }, "extra.treeherder.labels"},
		{func(c map[string]any) { c["groupSymbol"] = "" }, "extra.treeherder.groupSymbol"},
		{func(c map[string]any) { c["reason"] = strings.Repeat("r", 126) }, "extra.treeherder.reason"},
	}
	for i, tc := range bad {
		err := valid(tc.mod)
		var se *SchemaError
		if !errors.As(err, &se) || se.Field != tc.field || !errors.Is(err, ErrInvalidConfig) || !IsSkip(err) {
			t.Errorf("bad[%d]: got %v, want a skip on %s", i, err, tc.field)
		}
	}
}

func TestPulseJobWordPattern(t *testing.T) {
	// Python's \w is Unicode-aware: letters and digits of any script pass,
	// punctuation and symbols do not.
	for _, s := range []string{"linux64", "ünïcode", "ویندوز", "٣٤", "a_b-c", "x\n"} {
		pj := pulseJob(func(j map[string]any) {
			j["buildMachine"] = map[string]any{"platform": s, "os": "l", "architecture": "a"}
		})
		if err := ValidatePulseJob(pj); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"a.b", "a b", "a/b", "😀", "", "x\n\n", "\nx"} {
		pj := pulseJob(func(j map[string]any) {
			j["buildMachine"] = map[string]any{"platform": s, "os": "l", "architecture": "a"}
		})
		if err := ValidatePulseJob(pj); err == nil {
			t.Errorf("%q passed", s)
		}
	}
}

// TestSchemasAgreeWithPythonJSONSchema is a differential test: every
// document of a corpus (fixture jobs plus targeted mutations) must be judged
// the same by the Go rules and by Python's jsonschema (the library Treeherder
// uses) against the shared YAML schemas. It skips without python3, PyYAML,
// jsonschema or the shared data.
func TestSchemasAgreeWithPythonJSONSchema(t *testing.T) {
	data := sharedData(t)
	if err := exec.Command("python3", "-c", "import jsonschema, yaml").Run(); err != nil {
		t.Skip("python3 with jsonschema and PyYAML not available")
	}
	const script = `
import json, sys, yaml, jsonschema
schema = yaml.safe_load(open(sys.argv[1]))
docs = json.load(open(sys.argv[2]))
# What jsonschema.validate does (no format checker), without re-checking
# the schema for every document.
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema)
json.dump([validator.is_valid(d) for d in docs], sys.stdout)
`
	judge := func(t *testing.T, schemaFile string, docs []json.RawMessage) []bool {
		dir := t.TempDir()
		docsFile := filepath.Join(dir, "docs.json")
		b, err := json.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docsFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command("python3", "-c", script, filepath.Join(data, "schemas", schemaFile), docsFile)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v: %s", err, stderr.String())
		}
		var verdicts []bool
		if err := json.Unmarshal(out, &verdicts); err != nil {
			t.Fatal(err)
		}
		return verdicts
	}

	t.Run("pulse-job", func(t *testing.T) {
		docs := pulseJobCorpus(t)
		verdicts := judge(t, "pulse-job.yml", docs)
		valid := 0
		for i, raw := range docs {
			pj, err := ParsePulseJob(raw)
			goOK := err == nil && ValidatePulseJob(pj) == nil
			if goOK {
				valid++
			}
			if goOK != verdicts[i] {
				t.Errorf("doc %d: Go valid=%v, Python valid=%v: %s", i, goOK, verdicts[i], raw)
			}
		}
		t.Logf("%d documents, %d valid", len(docs), valid)
	})
	t.Run("task-treeherder-config", func(t *testing.T) {
		docs := taskConfigCorpus(t)
		verdicts := judge(t, "task-treeherder-config.yml", docs)
		for i, raw := range docs {
			var v any
			goOK := decodeJSON(raw, &v, "test") == nil && ValidateTaskConfig(v) == nil
			if goOK != verdicts[i] {
				t.Errorf("doc %d: Go valid=%v, Python valid=%v: %s", i, goOK, verdicts[i], raw)
			}
		}
		t.Logf("%d documents", len(docs))
	})
}

// tricky values for string and integer fields.
var trickyValues = []any{
	"", "a", "linux64", "linux64\n", "linux64\n\n", "\nlinux64", "a b", "a.b", "a/b", "a+b", "a_b-c",
	"ünïcode", "٣٤", "ویندوز", "😀", "Ⅻ", "x²", "ǅ", "a\u0301",
	strings.Repeat("x", 25), strings.Repeat("x", 26), strings.Repeat("é", 50), strings.Repeat("é", 51),
	strings.Repeat("😀", 40), strings.Repeat("f", 40), strings.Repeat("F", 40), strings.Repeat("f", 39) + "\n",
	strings.Repeat("x", 100), strings.Repeat("x", 101), strings.Repeat("x", 125), strings.Repeat("x", 126),
	strings.Repeat("x", 140), strings.Repeat("x", 141), strings.Repeat("x", 255), strings.Repeat("x", 256),
	0, 1, 2, 3, 4, -1, json.Number("1.0"), json.Number("1.5"), json.Number("1e0"), true, false, nil,
	[]any{}, []any{"a"}, map[string]any{},
}

func fieldPaths(doc map[string]any, prefix string) []string {
	var out []string
	for k, v := range doc {
		p := join(prefix, k)
		out = append(out, p)
		if m, ok := v.(map[string]any); ok {
			out = append(out, fieldPaths(m, p)...)
		}
	}
	return out
}

func setPath(doc map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := doc
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	m[parts[len(parts)-1]] = v
}

func deepCopy(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

// mutate returns the base document with every field set, in turn, to every
// tricky value, and with an unknown member added at every object.
func mutate(t testing.TB, base map[string]any) []json.RawMessage {
	var docs []json.RawMessage
	add := func(d map[string]any) {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	add(base)
	for _, path := range fieldPaths(base, "") {
		for _, v := range trickyValues {
			d := deepCopy(base)
			setPath(d, path, v)
			add(d)
		}
		if _, ok := getPath(base, path).(map[string]any); ok {
			d := deepCopy(base)
			setPath(d, path+".surprise", "x")
			add(d)
		}
		d := deepCopy(base)
		deletePath(d, path)
		add(d)
	}
	return docs
}

func getPath(doc map[string]any, path string) any {
	var v any = doc
	for _, p := range strings.Split(path, ".") {
		v = v.(map[string]any)[p]
	}
	return v
}

func deletePath(doc map[string]any, path string) {
	parts := strings.Split(path, ".")
	m := doc
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	delete(m, parts[len(parts)-1])
}

func pulseJobCorpus(t testing.TB) []json.RawMessage {
	var docs []json.RawMessage
	// Every intermediate job the fixtures produce.
	msgs, tasks, _ := loadTaskFixtures(t)
	tr := NewTransformer(tasks, Options{})
	for _, m := range msgs {
		pj, err := tr.PulseJob(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(pj)
		docs = append(docs, b)
	}
	// A rich base job, mutated field by field.
	base := map[string]any{
		"taskId": testGUIDRoot + "/0", "retryId": 0, "isRetried": false, "buildSystem": "taskcluster",
		"origin":  map[string]any{"project": "autoland", "revision": testRev, "id": 5},
		"display": map[string]any{"jobSymbol": "bc", "chunkId": 2, "chunkCount": 3, "groupSymbol": "M", "jobName": "n", "groupName": "g"},
		"state":   "completed", "result": "fail", "jobKind": "test", "tier": 1,
		"coalesced":     []any{testGUIDRoot + "/1"},
		"timeScheduled": "2019-06-26T19:13:51.402Z", "timeStarted": "x", "timeCompleted": "y",
		"labels": []any{"opt"}, "owner": "o", "reason": "r", "productName": "p",
		"buildMachine": map[string]any{"name": "n", "platform": "p", "os": "o", "architecture": "a"},
		"runMachine":   map[string]any{"name": "n", "platform": "p", "os": "o", "architecture": "a"},
		"jobInfo": map[string]any{"summary": "s", "links": []any{
			map[string]any{"url": "https://x", "linkText": "t", "label": "l"}}},
		"logs":    []any{map[string]any{"url": "https://x", "name": "live_backing_log"}},
		"version": 1,
	}
	docs = append(docs, mutate(t, base)...)
	// Array items too.
	for _, v := range trickyValues {
		for _, key := range []string{"labels", "coalesced"} {
			d := deepCopy(base)
			d[key] = []any{v}
			b, _ := json.Marshal(d)
			docs = append(docs, b)
		}
		for _, key := range []string{"url", "linkText", "label"} {
			d := deepCopy(base)
			d["jobInfo"].(map[string]any)["links"].([]any)[0].(map[string]any)[key] = v
			b, _ := json.Marshal(d)
			docs = append(docs, b)
		}
		for _, key := range []string{"url", "name"} {
			d := deepCopy(base)
			d["logs"].([]any)[0].(map[string]any)[key] = v
			b, _ := json.Marshal(d)
			docs = append(docs, b)
		}
	}
	return docs
}

func taskConfigCorpus(t testing.TB) []json.RawMessage {
	var docs []json.RawMessage
	_, tasks, _ := loadTaskFixtures(t)
	for id, raw := range tasks {
		var d struct {
			Extra struct {
				Treeherder json.RawMessage `json:"treeherder"`
			} `json:"extra"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(d.Extra.Treeherder) > 0 {
			docs = append(docs, d.Extra.Treeherder)
		}
	}
	base := map[string]any{
		"symbol": "B", "groupSymbol": "G", "groupName": "n", "tier": 1, "jobKind": "build", "reason": "r",
		"productName": "p", "labels": []any{"opt"}, "collection": map[string]any{"opt": true},
		"machine": map[string]any{"platform": "p", "os": "o", "architecture": "a"},
	}
	docs = append(docs, mutate(t, base)...)
	for _, v := range trickyValues {
		d := deepCopy(base)
		d["labels"] = []any{v}
		b, _ := json.Marshal(d)
		docs = append(docs, b)
	}
	for _, v := range []any{nil, 1, "x", []any{}} {
		b, _ := json.Marshal(v)
		docs = append(docs, b)
	}
	return docs
}

func TestToTimestamp(t *testing.T) {
	cases := map[string]int64{
		"2019-06-26T19:13:51.402Z":      1561576431,
		"2019-06-26T19:13:51Z":          1561576431,
		"2025-02-26T22:45:17-08:00":     1740638717,
		"2025-02-26T22:45:17.999-08:00": 1740638717,
		"2025-02-27T06:45:17":           1740638717, // naive is UTC
		"2025-02-27 06:45:17":           1740638717,
		"2025-02-26T22:45:17-0800":      1740638717,
		"1970-01-01":                    0,
		"1969-12-31T23:59:59.5Z":        -1, // floor, like utctimetuple
	}
	for in, want := range cases {
		got, err := ToTimestamp(in)
		if err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "noon", "2019-13-01T00:00:00Z", "1561576431"} {
		if _, err := ToTimestamp(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func ExampleValidatePulseJob() {
	job, _ := ParsePulseJob([]byte(`{"taskId":"x/0","origin":{"project":"try","revision":"abc"},
		"buildSystem":"taskcluster","display":{"jobName":"j","jobSymbol":"s","groupSymbol":"?"},
		"state":"pending","jobKind":"test","version":1}`))
	fmt.Println(ValidatePulseJob(job))
	// Output: pulse-job: origin.revision: "abc" is shorter than 40 characters
}
