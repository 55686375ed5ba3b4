package model

import (
	"crypto/sha1"
	"encoding/hex"
	"sort"
	"strings"
)

// OptionCollectionHash is Treeherder's option collection hash: the sha1 of
// the sorted option names concatenated with no separator.
func OptionCollectionHash(options []string) string {
	sorted := append([]string(nil), options...)
	sort.Strings(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "")))
	return hex.EncodeToString(sum[:])
}

// SignatureInput is what Treeherder's reference data signature is made of.
type SignatureInput struct {
	BuildSystemType  string
	Repository       string
	BuildPlatform    Platform
	MachinePlatform  Platform
	JobGroup         NamedSymbol
	JobType          NamedSymbol
	OptionCollection string
	// ReferenceDataName is nil when the job named none: Treeherder then
	// hashes Python's str(None), the literal "None".
	ReferenceDataName *string
}

// ReferenceDataSignature computes Treeherder's signature hash: the sha1 of the
// concatenated fields in its fixed order.
func ReferenceDataSignature(in SignatureInput) string {
	refName := "None"
	if in.ReferenceDataName != nil {
		refName = *in.ReferenceDataName
	}
	h := sha1.New()
	for _, s := range []string{
		in.BuildSystemType, in.Repository,
		in.BuildPlatform.OSName, in.BuildPlatform.Platform, in.BuildPlatform.Architecture,
		in.MachinePlatform.OSName, in.MachinePlatform.Platform, in.MachinePlatform.Architecture,
		in.JobGroup.Name, in.JobGroup.Symbol, in.JobType.Name, in.JobType.Symbol,
		in.OptionCollection, refName,
	} {
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
