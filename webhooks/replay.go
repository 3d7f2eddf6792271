package webhooks

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultSeenMax is how many message ids a Seen remembers by default.
const DefaultSeenMax = 100_000

// Seen remembers the message ids (such as webhook-id) that each source has
// delivered, so that a replay within the window can be refused. The window
// should be at least the timestamp tolerance of the source's verifier: an
// older replay is refused by its timestamp. Memory is bounded: expired ids
// are forgotten first, then the oldest when over the limit. Make one with
// NewSeen; it is safe for concurrent use.
//
// Check and Record are separate so that an id is recorded only once the
// alert is safely delivered: a sender's retry after a failed delivery must
// not be refused as a replay.
type Seen struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	entries map[seenKey]*list.Element // of *seenEntry
	order   *list.List                // of *seenEntry, oldest recorded first
}

// seenKey is a digest of a source and message id: fixed-size, so memory does
// not depend on how long the ids senders choose are.
type seenKey [sha256.Size]byte

type seenEntry struct {
	key seenKey
	at  time.Time
}

// NewSeen returns a Seen that remembers ids for window, at most max of them.
// A window of zero or less means DefaultTolerance, a max of zero or less
// means DefaultSeenMax, and a nil now means time.Now.
func NewSeen(window time.Duration, max int, now func() time.Time) *Seen {
	if window <= 0 {
		window = DefaultTolerance
	}
	if max <= 0 {
		max = DefaultSeenMax
	}
	if now == nil {
		now = time.Now
	}
	return &Seen{window: window, max: max, now: now, entries: make(map[seenKey]*list.Element), order: list.New()}
}

// Check reports whether id was recorded for source within the window.
func (s *Seen) Check(source, id string) bool {
	key := newSeenKey(source, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	e, ok := s.entries[key]
	// Entries are in recording order, so expire stops at the first live one;
	// if the clock stepped back, a later entry can be older. Check its time.
	return ok && now.Sub(e.Value.(*seenEntry).at) < s.window
}

// Record remembers id for source from now until the window has passed.
// Recording an id again restarts its window.
func (s *Seen) Record(source, id string) {
	key := newSeenKey(source, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if e, ok := s.entries[key]; ok {
		e.Value.(*seenEntry).at = now
		s.order.MoveToBack(e)
		return
	}
	s.entries[key] = s.order.PushBack(&seenEntry{key: key, at: now})
	for s.order.Len() > s.max {
		s.remove(s.order.Front())
	}
}

// Len returns how many ids are remembered, expired ones included until the
// next Check or Record.
func (s *Seen) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// expire forgets the entries recorded a window or more before now, oldest
// first. s.mu must be held.
func (s *Seen) expire(now time.Time) {
	for e := s.order.Front(); e != nil && now.Sub(e.Value.(*seenEntry).at) >= s.window; e = s.order.Front() {
		s.remove(e)
	}
}

// remove forgets one entry. s.mu must be held.
func (s *Seen) remove(e *list.Element) {
	delete(s.entries, e.Value.(*seenEntry).key)
	s.order.Remove(e)
}

// newSeenKey digests source and id, length-prefixing source so that no two
// pairs share a digest input.
func newSeenKey(source, id string) seenKey {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(source)))
	h.Write(n[:])
	h.Write([]byte(source))
	h.Write([]byte(id))
	var k seenKey
	h.Sum(k[:0])
	return k
}
