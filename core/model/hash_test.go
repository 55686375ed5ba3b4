package model

import "testing"

func TestOptionCollectionHash(t *testing.T) {
	cases := map[string][]string{
		"102210fe594ee9b33d82058545b1ed14f4c8206e": {"opt"},
		"32faaecac742100f7753f0c1d0aa0add01b4046b": {"debug"},
		// sorted before hashing, so order does not matter
		OptionCollectionHash([]string{"a", "b"}): {"b", "a"},
	}
	for want, opts := range cases {
		if got := OptionCollectionHash(opts); got != want {
			t.Errorf("OptionCollectionHash(%v) = %s, want %s", opts, got, want)
		}
	}
}

func TestReferenceDataSignatureUsesNoneForMissingName(t *testing.T) {
	in := SignatureInput{BuildSystemType: "buildbot", Repository: "r"}
	none := "None"
	withNone := in
	withNone.ReferenceDataName = &none
	if ReferenceDataSignature(in) != ReferenceDataSignature(withNone) {
		t.Fatal("a missing reference data name must hash as the literal None")
	}
	empty := ""
	withEmpty := in
	withEmpty.ReferenceDataName = &empty
	if ReferenceDataSignature(in) == ReferenceDataSignature(withEmpty) {
		t.Fatal("an empty reference data name must not hash like a missing one")
	}
}
