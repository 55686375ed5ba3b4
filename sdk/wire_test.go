package sdk

import (
	"fmt"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// fill sets every exported field of v (recursively) to a distinct non-zero
// value, so a round trip that drops a field shows.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(fmt.Sprintf("b%d", *n)))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, n)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	default:
		panic(fmt.Sprintf("fill: unhandled kind %s; teach wire.go and this test about it", v.Kind()))
	}
}

// TestEventWireRoundTripCoversEveryField fails when a field is added to
// the SDK's event types without being carried over the wire.
func TestEventWireRoundTripCoversEveryField(t *testing.T) {
	for _, kind := range []string{"push", "job"} {
		var n int
		var e Event
		fill(reflect.ValueOf(&e).Elem(), &n)
		if kind == "push" {
			e.Job = nil
		} else {
			e.Push = nil
		}
		wire, err := proto.Marshal(EventToProto(e))
		if err != nil {
			t.Fatal(err)
		}
		var pe herderv1.Event
		if err := proto.Unmarshal(wire, &pe); err != nil {
			t.Fatal(err)
		}
		got, err := EventFromProto(&pe)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s event changed over the wire:\n got %+v\nwant %+v", kind, got, e)
		}
	}
}

func TestEventFromProtoRefusesEmptyEvents(t *testing.T) {
	for _, pe := range []*herderv1.Event{nil, {Id: "x"}, {Payload: &herderv1.Event_Job{}}, {Payload: &herderv1.Event_Push{}}} {
		if _, err := EventFromProto(pe); err == nil {
			t.Errorf("EventFromProto(%v) accepted it", pe)
		}
	}
	// A push without revisions keeps Treeherder's empty list.
	e, err := EventFromProto(EventToProto(Event{Push: &PushDatum{Revision: "r"}}))
	if err != nil || e.Push.Revisions == nil {
		t.Errorf("push without revisions: %+v, %v", e.Push, err)
	}
}

func TestProcessorInfoRoundTrip(t *testing.T) {
	var n int
	var info ProcessorInfo
	fill(reflect.ValueOf(&info).Elem(), &n)
	if got := ProcessorInfoFromProto(ProcessorInfoToProto(info)); !reflect.DeepEqual(got, info) {
		t.Errorf("got %+v, want %+v", got, info)
	}
}

// FuzzEventFromProto feeds arbitrary bytes through the host's decoding of a
// source's batch: it may refuse them but must not panic.
func FuzzEventFromProto(f *testing.F) {
	seed, _ := proto.Marshal(&herderv1.SendRequest{Events: []*herderv1.Event{
		EventToProto(Event{ID: "1", Job: &JobDatum{Job: Job{JobGUID: "g", OptionCollection: map[string]bool{"opt": true}}}}),
		EventToProto(Event{ID: "2", Push: &PushDatum{Revision: "r", Revisions: []Revision{{Revision: "r"}}}}),
	}})
	f.Add(seed)
	f.Add([]byte{0x12, 0x02, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req herderv1.SendRequest
		if proto.Unmarshal(data, &req) != nil {
			return
		}
		for _, pe := range req.GetEvents() {
			e, err := EventFromProto(pe)
			if err == nil {
				_ = e.Validate()
				_ = EventToProto(e)
			}
		}
	})
}

func TestPermanent(t *testing.T) {
	base := fmt.Errorf("no such log")
	err := fmt.Errorf("task 1: %w", Permanent(base))
	if !IsPermanent(err) || !errorsIs(err, base) {
		t.Errorf("Permanent lost: %v", err)
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Error("IsPermanent of a plain error, or Permanent(nil) != nil")
	}
}
