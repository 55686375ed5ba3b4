package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags as "file:line:col: error: summary", the
// detail, and the source line with the subject underlined. files supplies the
// source text by filename; when nil or missing a file, the built-in sources
// and then the file system are tried, and a diagnostic whose source cannot
// be found is printed without its snippet.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	bw := bufio.NewWriter(w)
	cache := map[string][]byte{}
	source := func(name string) []byte {
		if f, ok := files[name]; ok && f != nil {
			return f.Bytes
		}
		if src, ok := cache[name]; ok {
			return src
		}
		var src []byte
		switch name {
		case BuiltinFilename:
			src = defaultSrc
		case SeedFilename:
			src = seedSrc
		default:
			src, _ = readBounded(name)
		}
		cache[name] = src
		return src
	}
	for _, diag := range diags {
		writeDiagnostic(bw, diag, source)
	}
	return bw.Flush()
}

func writeDiagnostic(w io.Writer, diag *hcl.Diagnostic, source func(string) []byte) {
	severity := "error"
	if diag.Severity == hcl.DiagWarning {
		severity = "warning"
	}
	if s := diag.Subject; s != nil {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", s.Filename, s.Start.Line, s.Start.Column, severity, diag.Summary)
	} else {
		fmt.Fprintf(w, "%s: %s\n", severity, diag.Summary)
	}
	if diag.Detail != "" {
		for _, line := range strings.Split(diag.Detail, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	if s := diag.Subject; s != nil {
		if snippet := snippet(source(s.Filename), *s); snippet != "" {
			fmt.Fprint(w, snippet)
		}
	}
	fmt.Fprintln(w)
}

// snippet renders the subject's first line with the subject underlined.
// Only the operator's own source is shown, never an evaluated value.
func snippet(src []byte, r hcl.Range) string {
	if src == nil || r.Start.Line < 1 {
		return ""
	}
	lines := bytes.Split(src, []byte("\n"))
	if r.Start.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(string(lines[r.Start.Line-1]), "\r")
	line = strings.ReplaceAll(line, "\t", " ")
	start := r.Start.Column
	if start < 1 {
		start = 1
	}
	end := utf8.RuneCountInString(line) + 1
	if r.End.Line == r.Start.Line && r.End.Column > start && r.End.Column < end {
		end = r.End.Column
	}
	width := end - start
	if width < 1 {
		width = 1
	}
	gutter := fmt.Sprintf("%5d | ", r.Start.Line)
	return fmt.Sprintf("%s%s\n%s%s%s\n", gutter, line,
		strings.Repeat(" ", len(gutter)-2)+"| ",
		strings.Repeat(" ", start-1), strings.Repeat("^", width))
}
