package transform

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// SlugToUUID decodes a Taskcluster slug (22 characters of URL-safe base64,
// unpadded) into the dashed lowercase UUID form, as Python's slugid.decode:
// A35mWTRuQmyj88yMnIF0fA → 037e6659-346e-426c-a3f3-cc8c9c81747c.
func SlugToUUID(slug string) (string, error) {
	if len(slug) != 22 {
		return "", fmt.Errorf("slug %q: want 22 characters, got %d", slug, len(slug))
	}
	var b [16]byte
	// The non-strict decoder ignores the 4 spare bits of the last character,
	// as Python's base64 does.
	n, err := base64.RawURLEncoding.Decode(b[:], []byte(slug))
	if err != nil || n != 16 {
		return "", fmt.Errorf("slug %q: not URL-safe base64 of 16 bytes", slug)
	}
	return formatUUID(b), nil
}

// UUIDToSlug encodes a UUID (dashed or not, any case, optionally in braces or
// with a urn:uuid: prefix, as Python's uuid.UUID accepts) into its slug.
func UUIDToSlug(u string) (string, error) {
	b, err := parseUUID(u)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func parseUUID(u string) ([16]byte, error) {
	var b [16]byte
	s := strings.ReplaceAll(strings.ReplaceAll(u, "urn:", ""), "uuid:", "")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return b, fmt.Errorf("uuid %q: want 32 hex digits", u)
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return b, fmt.Errorf("uuid %q: %w", u, err)
	}
	return b, nil
}

func formatUUID(b [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], b[10:16])
	return string(buf[:])
}

// JobGUID is Treeherder's guid for run runID of a task: "uuid/runId".
func JobGUID(taskID string, runID int) (string, error) {
	u, err := SlugToUUID(taskID)
	if err != nil {
		return "", err
	}
	return u + "/" + strconv.Itoa(runID), nil
}

// TaskAndRetryIDs splits a guid "uuid/run" back into the task slug and run,
// as job_loader's task_and_retry_ids (plus int() of the run).
func TaskAndRetryIDs(guid string) (taskID string, runID int, err error) {
	parts := strings.Split(guid, "/")
	if len(parts) != 2 {
		return "", 0, fmt.Errorf("guid %q: want uuid/run", guid)
	}
	slug, err := UUIDToSlug(parts[0])
	if err != nil {
		return "", 0, fmt.Errorf("guid %q: %w", guid, err)
	}
	run, err := pyInt(parts[1])
	if err != nil {
		return "", 0, fmt.Errorf("guid %q: run: %w", guid, err)
	}
	return slug, run, nil
}

// pyInt parses a decimal integer the way Python's int() does for the inputs
// that matter here: surrounding whitespace, a sign and digit-group
// underscores are allowed.
func pyInt(s string) (int, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "_") {
		if strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") ||
			strings.HasPrefix(strings.TrimLeft(t, "+-"), "_") {
			return 0, fmt.Errorf("invalid integer %q", s)
		}
		t = strings.ReplaceAll(t, "_", "")
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q", s)
	}
	return n, nil
}
