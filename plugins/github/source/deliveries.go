package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herder-ci/herder/sdk"
)

// deliveries remembers the X-GitHub-Delivery ids whose events the host
// accepted, for the replay window, in an append-only file under state_dir
// ("<expiry unix seconds> <id>" per line, fsynced per id) that is compacted
// when it holds mostly expired lines. A restart reads it back, so a replay
// is refused across restarts too.
type deliveries struct {
	path   string
	window time.Duration
	max    int
	now    func() time.Time

	mu       sync.Mutex
	f        *os.File
	seen     map[string]int64 // id -> expiry (unix seconds)
	inflight map[string]bool
	lines    int
}

// Outcomes of begin.
const (
	deliveryNew = iota
	deliveryReplayed
	deliveryInFlight
)

// deliveriesFile is the file name under state_dir.
const deliveriesFile = "deliveries.log"

func openDeliveries(dir string, window time.Duration, max int, now func() time.Time) (*deliveries, error) {
	d := &deliveries{path: filepath.Join(dir, deliveriesFile), window: window, max: max, now: now,
		seen: map[string]int64{}, inflight: map[string]bool{}}
	b, err := os.ReadFile(d.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read delivery ids: %w", err)
	}
	// A last line without its newline was torn by a crash mid-write: its id
	// was never answered 2xx, so it is dropped.
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	nowS := now().Unix()
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		exp, id, ok := strings.Cut(sc.Text(), " ")
		e, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil || !validDeliveryID(id) {
			continue
		}
		if e > nowS && e > d.seen[id] {
			d.seen[id] = e
		}
	}
	if err := d.compactLocked(); err != nil {
		return nil, err
	}
	return d, nil
}

// validDeliveryID accepts what GitHub sends (a GUID) and little else, so
// the file stays one id per line.
func validDeliveryID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// begin claims id for handling: deliveryReplayed when the host already
// accepted its events within the window, deliveryInFlight while another
// request with it is being handled.
func (d *deliveries) begin(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if exp, ok := d.seen[id]; ok {
		if exp > d.now().Unix() {
			return deliveryReplayed
		}
		delete(d.seen, id)
	}
	if d.inflight[id] {
		return deliveryInFlight
	}
	d.inflight[id] = true
	return deliveryNew
}

// end releases id; accepted records it (durably) as seen.
func (d *deliveries) end(id string, accepted bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inflight, id)
	if !accepted {
		return nil
	}
	if d.f == nil {
		return fmt.Errorf("record delivery %s: the delivery file is closed", id)
	}
	exp := d.now().Add(d.window).Unix()
	d.seen[id] = exp
	if _, err := fmt.Fprintf(d.f, "%d %s\n", exp, id); err != nil {
		return fmt.Errorf("record delivery %s: %w", id, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("record delivery %s: %w", id, err)
	}
	d.lines++
	if len(d.seen) > d.max || d.lines > 2*len(d.seen)+1024 {
		return d.compactLocked()
	}
	return nil
}

// compactLocked drops expired ids and rewrites the file atomically. Over
// max, it keeps the latest-expiring nine tenths of max: trimmed to max
// exactly, the very next delivery would be over again, and every webhook
// would sort and rewrite the whole file under the lock.
func (d *deliveries) compactLocked() error {
	nowS := d.now().Unix()
	for id, exp := range d.seen {
		if exp <= nowS {
			delete(d.seen, id)
		}
	}
	if len(d.seen) > d.max {
		ids := make([]string, 0, len(d.seen))
		for id := range d.seen {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return d.seen[ids[i]] < d.seen[ids[j]] })
		keep := max(d.max-d.max/10, 1)
		for _, id := range ids[:len(ids)-keep] {
			delete(d.seen, id)
		}
	}
	var buf bytes.Buffer
	for id, exp := range d.seen {
		fmt.Fprintf(&buf, "%d %s\n", exp, id)
	}
	if d.f != nil {
		_ = d.f.Close()
		d.f = nil
	}
	if err := sdk.WriteFileAtomic(d.path, buf.Bytes()); err != nil {
		return fmt.Errorf("compact delivery ids: %w", err)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open delivery ids: %w", err)
	}
	d.f, d.lines = f, len(d.seen)
	return nil
}

// size is the number of ids remembered.
func (d *deliveries) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

func (d *deliveries) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
