// Package parse extracts what Treeherder extracts from a job's logs, with
// Treeherder's exact rules and at stream speed:
//
//   - ParseErrors reads a raw (plain text) log and returns the error lines
//     Treeherder's ErrorParser would store (the text_log_summary artifact)
//     plus any PERFHERDER_DATA blobs.
//   - ParseErrorSummary reads a structured errorsummary.log (JSON lines) and
//     returns the failure lines and group results Treeherder would store.
//   - DetectAndDecompress turns a gzip or plain byte stream into plain text by
//     looking at its content, not its name or headers.
//
// Everything streams with bounded memory: a log is never held whole, and a
// single line keeps at most Options.MaxLineBytes bytes however long it is.
//
// Speed comes from doing almost nothing for almost every line: lines are cut
// out of a large buffer without allocation, and a byte-level literal scan that
// is derived from the rule list (see prefilter.go) rejects every line no rule
// could match before any regular expression runs.
package parse
