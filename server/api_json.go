package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// sendJSON writes v as JSON. HTML characters are not escaped, as Django REST
// framework does not escape them either.
func sendJSON(w http.ResponseWriter, status int, v any) error {
	body, err := marshal(v)
	if err != nil {
		return err
	}
	return sendBody(w, status, body)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sendBody(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// sendCached writes reference data with an ETag and Cache-Control, and
// answers a matching If-None-Match with 304: reference rows only ever grow,
// so clients revalidate cheaply.
func sendCached(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := marshal(v)
	if err != nil {
		return err
	}
	etag := etagOf(body)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, max-age=300")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return sendBody(w, http.StatusOK, body)
}

// etagOf is a strong ETag of a response body.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// object is a JSON object whose keys keep their insertion order, for the
// few responses whose keys are data (Python dicts keep insertion order).
type object []member

type member struct {
	Key   string
	Value any
}

func (o object) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.Key)
		b = append(b, ':')
		v, err := marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// set replaces the value of key or appends it.
func (o object) set(key string, v any) object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, member{key, v})
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, as encoding/json writes it but
// without HTML escaping; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// isoMicros renders unix microseconds as Python's naive UTC isoformat():
// the fraction only when it is not zero.
func isoMicros(us int64) string {
	t := time.UnixMicro(us).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// appendISOMicros appends isoMicros(us) as a JSON string without an
// intermediate string.
func appendISOMicros(b []byte, us int64) []byte {
	t := time.UnixMicro(us).UTC()
	b = append(b, '"')
	if t.Nanosecond() == 0 {
		b = t.AppendFormat(b, "2006-01-02T15:04:05")
	} else {
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000000")
	}
	return append(b, '"')
}

func isoSeconds(s int64) string { return time.Unix(s, 0).UTC().Format("2006-01-02T15:04:05") }

// pyDatetime renders unix seconds as Python's str(datetime).
func pyDatetime(s int64) string { return time.Unix(s, 0).UTC().Format("2006-01-02 15:04:05") }

// duration is Treeherder's Job.get_duration in minutes: end (or now) minus
// start (or submit), at least a minute, rounded half to even as Python's
// round() does.
func duration(submit, start, end int64, now time.Time) int64 {
	e := end
	if e == 0 {
		e = now.Unix()
	}
	s := start
	if s == 0 {
		s = submit
	}
	seconds := math.Max(float64(e-s), 60)
	return max(int64(math.RoundToEven(seconds/60)), 1)
}
