package sdk

// Task kinds of a bug matcher. Matching a job's error lines to bugs takes two
// calls, because the processor has no database: first the processor turns
// the lines into search terms (TaskBugTerms), then the host looks the terms
// up in its bug cache and hands the candidates back (TaskBugMatch) for the
// processor to filter and rank. Both calls carry a whole job, never one line.
const (
	TaskBugTerms = "bugs.terms"
	TaskBugMatch = "bugs.match"
)

// BugTermsTask asks for the search terms of a job's error lines. It is the
// JSON payload of a Task of kind TaskBugTerms.
type BugTermsTask struct {
	JobID int64     `json:"job_id,omitempty"`
	Lines []BugLine `json:"lines"`
}

// BugLine is one stored error line of a job (a text_log_error row).
type BugLine struct {
	LineNumber int64  `json:"line_number"`
	Line       string `json:"line"`
}

// BugTermsResult answers a BugTermsTask, one entry per line in task order.
type BugTermsResult struct {
	AlgorithmVersion string         `json:"algorithm_version"`
	Lines            []BugLineTerms `json:"lines"`
}

// BugLineTerms is what the text rules make of one error line.
type BugLineTerms struct {
	LineNumber int64 `json:"line_number"`
	// Search is the cleaned line (Treeherder's `search` field).
	Search string `json:"search"`
	// SearchTerms are the terms to look up: one, or two when the term has a
	// "?" (the term and the part before it). A line without a useful term
	// has [null], as in Treeherder.
	SearchTerms []*string `json:"search_terms"`
	// PathEnd is the test path the line names, if any.
	PathEnd *string `json:"path_end"`
	// CrashSignature is looked up when the terms find no bug.
	CrashSignature *string `json:"crash_signature,omitempty"`
	// CounterKey is the line normalised for the 21-day sighting counter
	// (numbers that vary from run to run replaced).
	CounterKey string `json:"counter_key"`
	// NoTermReason says why a line has no search term when it was refused
	// before the rules ran (too long, binary); empty otherwise.
	NoTermReason string `json:"no_term_reason,omitempty"`
}

// BugMatchTask hands the processor the candidate bugs of each term.
type BugMatchTask struct {
	JobID int64          `json:"job_id,omitempty"`
	Lines []BugLineTerms `json:"lines"`
	// Candidates maps each term (and crash signature) exactly as the terms
	// result spelled it to the cached bugs whose summary contains it,
	// case-insensitively. The host may send more than the processor keeps.
	Candidates map[string][]BugCandidate `json:"candidates"`
}

// BugCandidate is a cached bug as the matcher needs it.
type BugCandidate struct {
	// ID is the bug cache's own id (internal issues have no Bugzilla id).
	ID         int64  `json:"id"`
	BugzillaID *int64 `json:"bugzilla_id,omitempty"`
	Summary    string `json:"summary"`
	// Resolution is "" for an open bug.
	Resolution string `json:"resolution"`
}

// BugMatchResult answers a BugMatchTask, one entry per line in task order.
type BugMatchResult struct {
	AlgorithmVersion string         `json:"algorithm_version"`
	Lines            []BugLineMatch `json:"lines"`
}

// BugLineMatch lists the bugs suggested for one line, by BugCandidate.ID, in
// the order they are shown.
type BugLineMatch struct {
	LineNumber int64 `json:"line_number"`
	// SearchTerms are the line's terms plus the crash signature when it was
	// used, as Treeherder reports them.
	SearchTerms []*string `json:"search_terms"`
	OpenRecent  []int64   `json:"open_recent"`
	AllOthers   []int64   `json:"all_others"`
}
