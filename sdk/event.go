package sdk

import "fmt"

// Event is one thing a source plugin tells the host about. Exactly one of
// Push or Job is set.
type Event struct {
	// ID identifies the event at its source (a message id, a delivery id, a
	// task id plus state). Sources use it to match acknowledgements to the
	// upstream messages they came from; the host records it with the raw event.
	ID   string     `json:"id,omitempty"`
	Push *PushDatum `json:"push,omitempty"`
	Job  *JobDatum  `json:"job,omitempty"`
	// Raw is the upstream payload the event was made from, kept in the host's
	// event journal so later processor versions can replay history.
	Raw []byte `json:"raw,omitempty"`
}

// Validate reports whether the event carries exactly one payload.
func (e Event) Validate() error {
	switch {
	case e.Push != nil && e.Job != nil:
		return fmt.Errorf("event %q: has both a push and a job", e.ID)
	case e.Push == nil && e.Job == nil:
		return fmt.Errorf("event %q: has neither a push nor a job", e.ID)
	}
	return nil
}
