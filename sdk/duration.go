package sdk

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration in a plugin's JSON settings, written as a Go
// duration string ("90s", "250ms") or a number of seconds; it is written
// back as a string.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("duration %q: %w", x, err)
		}
		*d = Duration(p)
	case float64:
		*d = Duration(x * float64(time.Second))
	default:
		return fmt.Errorf("duration: want a string such as \"90s\" or a number of seconds, got %s", string(data))
	}
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
