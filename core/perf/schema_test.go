package perf

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/herder-ci/herder/internal/testenv"
)

const validArtifact = `{"framework": {"name": "build_metrics"}, "application": {"name": "firefox", "version": "130.0"},
 "os": {"name": "linux", "platform_version": "22.04"},
 "suites": [{"name": "build times", "value": 1200.5, "unit": "s", "lowerIsBetter": true, "shouldAlert": false,
   "alertThreshold": 2.0, "alertChangeType": "absolute", "minBackWindow": 12, "maxBackWindow": 24.0, "foreWindow": 6,
   "tags": ["tag-1", "B2"], "extraOptions": ["e10s", "` + "projects/970387039909/machineTypes/c2-standard-16" + `"],
   "replicates": [1, 2.5], "monitor": true, "alertSeverity": "normal", "alertNotifyEmails": ["a@b.org"], "unknownKey": [1],
   "subtests": [{"name": "compile", "value": 800, "unit": "s", "lowerIsBetter": false, "shouldAlert": true,
     "alertThreshold": 0, "alertChangeType": "percentage", "minBackWindow": 1.5, "alertSeverity": "critical", "publicName": "c"},
    {"name": "configure", "value": -3e2}]},
  {"name": "installer size", "subtests": []}]}`

func TestValidateAcceptsAFullArtifact(t *testing.T) {
	a, err := Validate([]byte(validArtifact))
	if err != nil {
		t.Fatal(err)
	}
	if a.Framework != "build_metrics" || a.Application.Name != "firefox" || a.Application.Version != "130.0" || len(a.Suites) != 2 {
		t.Fatalf("artifact: %+v", a)
	}
	s := a.Suites[0]
	if *s.Value != 1200.5 || *s.Unit != "s" || !*s.LowerIsBetter || *s.ShouldAlert || *s.AlertThreshold != 2 ||
		*s.AlertChangeType != "absolute" || *s.MinBackWindow != 12 || *s.MaxBackWindow != 24 || *s.ForeWindow != 6 ||
		!reflect.DeepEqual(s.Tags, []string{"tag-1", "B2"}) || len(s.ExtraOptions) != 2 || len(s.Subtests) != 2 {
		t.Fatalf("suite: %+v", s)
	}
	st := s.Subtests[0]
	if st.Name != "compile" || st.Value != 800 || *st.PublicName != "c" || *st.MinBackWindow != 1.5 || *st.AlertChangeType != "percentage" {
		t.Fatalf("subtest: %+v", st)
	}
	if a.Suites[1].Value != nil || len(a.Suites[1].Subtests) != 0 {
		t.Fatalf("second suite: %+v", a.Suites[1])
	}
}

// TestValidateRejects: one broken rule per case, each from
// performance-artifact.json or validate_perf_data.
func TestValidateRejects(t *testing.T) {
	suite := func(extra string) string {
		return `{"framework": {"name": "talos"}, "suites": [{"name": "s", "subtests": [{"name": "t", "value": 1}]` + extra + `}]}`
	}
	sub := func(extra string) string {
		return `{"framework": {"name": "talos"}, "suites": [{"name": "s", "subtests": [{"name": "t", "value": 1` + extra + `}]}]}`
	}
	long := func(n int) string { return strings.Repeat("é", n) }
	for want, doc := range map[string]string{
		"not JSON":                                                  `{"framework": `,
		"data after the top-level value":                            `{} {}`,
		"must be an object, not an array":                           `[]`,
		`"framework" is required`:                                   `{"suites": []}`,
		`"suites" is required`:                                      `{"framework": {"name": "talos"}}`,
		"framework: must be an object":                              `{"framework": "talos", "suites": []}`,
		"framework.name: must be a string":                          `{"framework": {"name": 3}, "suites": []}`,
		"suites: must be an array":                                  `{"framework": {}, "suites": {}}`,
		`suites[0]: "subtests" is required`:                         `{"framework": {}, "suites": [{"name": "s"}]}`,
		`suites[0]: "name" is required`:                             `{"framework": {}, "suites": [{"subtests": []}]}`,
		"application.name: must be one of":                          `{"framework": {}, "application": {"name": "netscape"}, "suites": []}`,
		`application: "name" is required`:                           `{"framework": {}, "application": {}, "suites": []}`,
		"application.version: must be at most 40":                   `{"framework": {}, "application": {"name": "fenix", "version": "` + long(41) + `"}, "suites": []}`,
		"os.name: must be at least 1":                               `{"framework": {}, "os": {"name": ""}, "suites": []}`,
		"os.platform_version: must be at most 100":                  `{"framework": {}, "os": {"platform_version": "` + long(101) + `"}, "suites": []}`,
		"suites[0].name: must be at most 80":                        `{"framework": {}, "suites": [{"name": "` + long(81) + `", "subtests": []}]}`,
		"suites[0].publicName: must be at most 30":                  suite(`, "publicName": "` + long(31) + `"`),
		"suites[0].tags[0]: tag":                                    suite(`, "tags": ["has space"]`),
		"suites[0].tags[1]: tag":                                    suite(`, "tags": ["ok", "` + strings.Repeat("a", 25) + `"]`),
		"suites[0].tags: must have at most 14":                      suite(`, "tags": ["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15"]`),
		"suites[0].tags: items must be unique":                      suite(`, "tags": ["a", "a"]`),
		"suites[0].extraOptions[0]: must be at most 100":            suite(`, "extraOptions": ["` + long(101) + `"]`),
		"suites[0].extraOptions: must have at most 8":               suite(`, "extraOptions": ["1","2","3","4","5","6","7","8","9"]`),
		"suites[0].extraOptions: too many extra options":            suite(`, "extraOptions": ["` + long(46) + `", "` + long(100) + `"]`),
		"suites[0].extraOptions: items must be unique":              suite(`, "extraOptions": ["e10s", "e10s"]`),
		"suites[0].value: must be between":                          suite(`, "value": 1e13`),
		"suites[0].value: must be a number":                         suite(`, "value": "12"`),
		"suites[0].value: must be a number, not null":               suite(`, "value": null`),
		"suites[0].value: must be a number, not a boolean":          suite(`, "value": true`),
		"suites[0].unit: must be at least 1":                        suite(`, "unit": ""`),
		"suites[0].unit: must be at most 20":                        suite(`, "unit": "` + long(21) + `"`),
		"suites[0].replicates[1]: must be between":                  suite(`, "replicates": [1, -2e12]`),
		"suites[0].lowerIsBetter: must be a boolean":                suite(`, "lowerIsBetter": 1`),
		"suites[0].monitor: must be a boolean":                      suite(`, "monitor": "yes"`),
		"suites[0].alertThreshold: must be between":                 suite(`, "alertThreshold": -1`),
		"suites[0].alertSeverity: must be one of":                   suite(`, "alertSeverity": "blocker"`),
		"suites[0].alertChangeType: must be one of":                 suite(`, "alertChangeType": "relative"`),
		"suites[0].minBackWindow: must be a whole number":           suite(`, "minBackWindow": 2.5`),
		"suites[0].foreWindow: must be between":                     suite(`, "foreWindow": 256`),
		"suites[0].maxBackWindow: must be between":                  suite(`, "maxBackWindow": 0`),
		"suites[0].alertNotifyEmails[0]: must be at most 100":       suite(`, "alertNotifyEmails": ["` + long(101) + `"]`),
		"suites[0].subtests: must be an array":                      `{"framework": {}, "suites": [{"name": "s", "subtests": {}}]}`,
		`suites[0].subtests[0]: "value" is required`:                `{"framework": {}, "suites": [{"name": "s", "subtests": [{"name": "t"}]}]}`,
		"suites[0].subtests[0].name: must be at most 80":            `{"framework": {}, "suites": [{"name": "s", "subtests": [{"name": "` + long(81) + `", "value": 1}]}]}`,
		"suites[0].subtests[0].value: must be between":              sub(`, "value": -1e12, "value": -1.5e12`),
		"suites[0].subtests[0].publicName: must be at most 30":      sub(`, "publicName": "` + long(31) + `"`),
		"suites[0].subtests[0].unit: must be at least 1":            sub(`, "unit": ""`),
		"suites[0].subtests[0].shouldAlert: must be a boolean":      sub(`, "shouldAlert": null`),
		"suites[0].subtests[0].alertChangeType: must be one of":     sub(`, "alertChangeType": "x"`),
		"suites[0].subtests[0].alertSeverity: must be one of":       sub(`, "alertSeverity": "x"`),
		"suites[0].subtests[0].alertThreshold: must be between":     sub(`, "alertThreshold": -0.5`),
		"suites[0].subtests[0].foreWindow: must be between":         sub(`, "foreWindow": 255.5`),
		"suites[0].subtests[0].value: number 1e999 is out of range": sub(`, "value": 1e999`),
	} {
		_, err := Validate([]byte(doc))
		if err == nil {
			t.Errorf("accepted (want %q): %s", want, doc)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want one containing %q", err, want)
		}
	}
}

func TestValidateEdges(t *testing.T) {
	for _, doc := range []string{
		// Python's $ matches before a final newline.
		`{"framework": {}, "suites": [{"name": "s", "subtests": [], "tags": ["abc\n"]}]}`,
		// A whole number written as a float is an integer to JSON Schema.
		`{"framework": {}, "suites": [{"name": "s", "subtests": [], "foreWindow": 3.0, "value": -1e12}]}`,
		// One long extra option is allowed; 45 characters is not long.
		`{"framework": {}, "suites": [{"name": "s", "subtests": [], "extraOptions": ["` + strings.Repeat("a", 45) + `", "` + strings.Repeat("b", 100) + `"]}]}`,
		// Lengths count characters, not bytes.
		`{"framework": {}, "suites": [{"name": "` + strings.Repeat("☃", 80) + `", "subtests": []}]}`,
		// No framework name: valid (the framework is then unknown).
		`{"framework": {}, "suites": []}`,
	} {
		if _, err := Validate([]byte(doc)); err != nil {
			t.Errorf("%v: %s", err, doc)
		}
	}
}

// TestSchemaConstants cross-checks the rules written here against the
// shared copy of Treeherder's schemas/performance-artifact.json.
func TestSchemaConstants(t *testing.T) {
	path := filepath.Join(testenv.SharedData(t), "schemas", "performance-artifact.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("schema missing from the shared data: %v", err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) any {
		var v any = schema
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("schema path %v: not an object at %q", path, p)
			}
			v = m[p]
		}
		return v
	}
	num := func(want float64, path ...string) {
		t.Helper()
		if got, _ := get(path...).(float64); got != want {
			t.Errorf("%s = %v, herder uses %v", strings.Join(path, "."), get(path...), want)
		}
	}
	strs := func(want []string, path ...string) {
		t.Helper()
		var got []string
		for _, x := range get(path...).([]any) {
			got = append(got, x.(string))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, herder uses %v", strings.Join(path, "."), got, want)
		}
	}
	d := []string{"definitions"}
	at := func(p ...string) []string { return append(append([]string{}, d...), p...) }
	strs(applicationNames, at("application_schema", "properties", "name", "enum")...)
	num(maxAppNameRunes, at("application_schema", "properties", "name", "maxLength")...)
	num(maxAppVerRunes, at("application_schema", "properties", "version", "maxLength")...)
	strs([]string{"name"}, at("application_schema", "required")...)
	num(1, at("os_schema", "properties", "name", "minLength")...)
	num(maxOSRunes, at("os_schema", "properties", "platform_version", "maxLength")...)
	for _, def := range []string{"suite_schema", "subtest_schema"} {
		num(maxNameRunes, at(def, "properties", "name", "maxLength")...)
		num(maxPublicRunes, at(def, "properties", "publicName", "maxLength")...)
		num(-maxValue, at(def, "properties", "value", "minimum")...)
		num(maxValue, at(def, "properties", "value", "maximum")...)
		num(1, at(def, "properties", "unit", "minLength")...)
		num(maxUnitRunes, at(def, "properties", "unit", "maxLength")...)
		num(0, at(def, "properties", "alertThreshold", "minimum")...)
		strs(alertChangeTypes, at(def, "properties", "alertChangeType", "enum")...)
		strs(alertSeverities, at(def, "properties", "alertSeverity", "enum")...)
		for _, w := range []string{"minBackWindow", "maxBackWindow", "foreWindow"} {
			num(minWindow, at(def, "properties", w, "minimum")...)
			num(maxWindow, at(def, "properties", w, "maximum")...)
		}
	}
	strs([]string{"name", "subtests"}, at("suite_schema", "required")...)
	strs([]string{"name", "value"}, at("subtest_schema", "required")...)
	if get(at("suite_schema", "properties", "minBackWindow", "type")...) != "integer" ||
		get(at("subtest_schema", "properties", "minBackWindow", "type")...) != "number" {
		t.Error("window types changed")
	}
	num(maxTags, at("suite_schema", "properties", "tags", "maxItems")...)
	if p := get(at("suite_schema", "properties", "tags", "items", "pattern")...); p != "^[a-zA-Z0-9-]{1,24}$" {
		t.Errorf("tag pattern %v", p)
	}
	num(maxExtraOptions, at("suite_schema", "properties", "extraOptions", "maxItems")...)
	num(maxOptionRunes, at("suite_schema", "properties", "extraOptions", "items", "maxLength")...)
	num(maxNotifyEmails, at("suite_schema", "properties", "alertNotifyEmails", "maxItems")...)
	num(maxEmailRunes, at("suite_schema", "properties", "alertNotifyEmails", "items", "maxLength")...)
	num(-maxValue, at("suite_schema", "properties", "replicates", "items", "minimum")...)
	strs([]string{"framework", "suites"}, "required")
	// Every property the schema names is one Validate knows.
	known := map[string][]string{
		"application_schema": {"name", "version"}, "os_schema": {"name", "platform_version"}, "framework_schema": {"name"},
		"subtest_schema": {"name", "publicName", "value", "unit", "lowerIsBetter", "shouldAlert", "alertChangeType",
			"alertThreshold", "alertSeverity", "minBackWindow", "maxBackWindow", "foreWindow"},
		"suite_schema": {"name", "publicName", "tags", "extraOptions", "subtests", "value", "unit", "replicates",
			"lowerIsBetter", "shouldAlert", "alertThreshold", "alertSeverity", "alertChangeType", "minBackWindow",
			"maxBackWindow", "foreWindow", "monitor", "alertNotifyEmails"},
	}
	for def, props := range known {
		for name := range get(at(def, "properties")...).(map[string]any) {
			found := false
			for _, p := range props {
				found = found || p == name
			}
			if !found {
				t.Errorf("%s.%s is not checked by Validate", def, name)
			}
		}
	}
}

// TestSignatureHash: values computed with Treeherder's _get_signature_hash
// in Python.
func TestSignatureHash(t *testing.T) {
	och, mp := "102210fe594ee9b33d82058545b1ed14f4c8206e", "android-4-0-armv7-api16"
	summary := SignatureProps{Suite: "installer size", OptionCollectionHash: och, MachinePlatform: mp}
	str := func(s string) *string { return &s }
	for want, p := range map[string]SignatureProps{
		"d547b9c631cf2075213bb3451cb2c306c7241d4b": summary,
		"ddabaef91b21c5a9998969e1d72eea209ae476b1": {Suite: "installer size", OptionCollectionHash: och, MachinePlatform: mp, TestOptions: []string{"stylo", "e10s"}},
		"be0b8b07279666323bbdfdd99b0081dc8e0d6754": {Suite: "installer size", Test: str("x86"), OptionCollectionHash: och, MachinePlatform: mp, ParentSignature: summary.Hash()},
		"e9389e6c57c3846770def64aca8a958b8ba91599": {Suite: "s", Test: str(""), OptionCollectionHash: och, MachinePlatform: mp},
		"e90c0216b3dc12ef1560bb1d9af344d97595431c": {Suite: "s", Test: str("t"), OptionCollectionHash: och, MachinePlatform: mp,
			TestOptions: []string{"café", "a\"b\\c\n", "\U0001F600 x", "~\x7f"}},
	} {
		if got := p.Hash(); got != want {
			t.Errorf("%+v: hash %s, want %s", p, got, want)
		}
	}
	if got, want := pyJSONList([]string{"a\"b\\c\n", "café", "~\x7f", "\U0001F600 x"}), `["a\"b\\c\n", "caf\u00e9", "~\u007f", "\ud83d\ude00 x"]`; got != want {
		t.Errorf("pyJSONList = %s, want %s", got, want)
	}
}

func TestPlan(t *testing.T) {
	a, err := Validate([]byte(validArtifact))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{OptionCollectionHash: "och", MachinePlatform: "linux64"}
	series := Plan(job, 2, a)
	if len(series) != 3 {
		t.Fatalf("%d series, want summary + 2 subtests (the second suite has neither)", len(series))
	}
	sum, sub := series[0], series[1]
	wantSum := SignatureProps{Suite: "build times", OptionCollectionHash: "och", MachinePlatform: "linux64",
		TestOptions: a.Suites[0].ExtraOptions}.Hash()
	if sum.Hash != wantSum || sum.ParentHash != "" || !sum.HasSubtests || sum.Test != "" || sum.Value != 1200.5 ||
		sum.Application != "firefox" || sum.FrameworkID != 2 || sum.Tags != "B2 tag-1" ||
		sum.ExtraOptions != "e10s projects/970387039909/machineTypes/c2-standard-16" || *sum.AlertChangeType != AlertAbsolute ||
		*sum.MaxBackWindow != 24 || *sum.MeasurementUnit != "s" || !sum.LowerIsBetter || *sum.ShouldAlert {
		t.Errorf("summary series %+v", sum)
	}
	name := "compile"
	wantSub := SignatureProps{Suite: "build times", Test: &name, OptionCollectionHash: "och", MachinePlatform: "linux64",
		TestOptions: a.Suites[0].ExtraOptions, ParentSignature: wantSum}.Hash()
	if sub.Hash != wantSub || sub.ParentHash != wantSum || sub.HasSubtests || sub.Value != 800 || sub.LowerIsBetter ||
		*sub.AlertChangeType != AlertPercentage || *sub.MinBackWindow != 1 {
		t.Errorf("subtest series %+v", sub)
	}
	if series[2].Value != -300 || !series[2].LowerIsBetter || series[2].MeasurementUnit != nil {
		t.Errorf("second subtest %+v", series[2])
	}

	// A suite without a value: subtests have no parent, and a repeated
	// subtest name takes the first value.
	b, _ := Validate([]byte(`{"framework": {"name": "talos"}, "suites": [{"name": "s", "subtests": [
		{"name": "t", "value": 1}, {"name": "t", "value": 2}]}]}`))
	series = Plan(job, 1, b)
	if len(series) != 2 || series[0].ParentHash != "" || series[0].Hash != series[1].Hash || series[1].Value != 1 || series[0].Application != "" {
		t.Errorf("no summary: %+v", series)
	}
	if math.IsNaN(series[0].Value) {
		t.Error("NaN")
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(validArtifact))
	f.Add([]byte(`{"framework": {}, "suites": [{"name": "s", "subtests": [{"name": "t", "value": 1e999}]}]}`))
	f.Add([]byte(`[{"a": null}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Validate(b)
		if err == nil {
			// A valid artifact always plans without panicking, and the
			// plan's hashes are hex SHA-1.
			for _, s := range Plan(Job{}, 1, a) {
				if len(s.Hash) != 40 {
					t.Fatalf("hash %q", s.Hash)
				}
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
	})
}
