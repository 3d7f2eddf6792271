package webhooks

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for tests; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSeen(t *testing.T) {
	// Each step runs at the clock's time after advancing it by advance.
	type step struct {
		advance time.Duration
		record  string // id to record for source "grafana"; "" means none
		check   string // id to check for source "grafana" after recording
		want    bool   // Check's answer
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{name: "unknown id", steps: []step{{check: "msg_1", want: false}}},
		{name: "checking does not record", steps: []step{{check: "msg_1"}, {check: "msg_1", want: false}}},
		{name: "recorded id", steps: []step{{record: "msg_1", check: "msg_1", want: true}}},
		{name: "other id", steps: []step{{record: "msg_1", check: "msg_2", want: false}}},
		{name: "just inside the window", steps: []step{{record: "msg_1"}, {advance: time.Minute - time.Nanosecond, check: "msg_1", want: true}}},
		{name: "expires at the window", steps: []step{{record: "msg_1"}, {advance: time.Minute, check: "msg_1", want: false}}},
		{name: "recording again restarts the window", steps: []step{
			{record: "msg_1"}, {advance: 50 * time.Second, record: "msg_1"}, {advance: 50 * time.Second, check: "msg_1", want: true},
		}},
		{name: "oldest evicted over max", max: 2, steps: []step{
			{record: "msg_1"}, {record: "msg_2"}, {record: "msg_3", check: "msg_1", want: false},
			{check: "msg_2", want: true}, {check: "msg_3", want: true},
		}},
		{name: "re-recorded id is newest", max: 2, steps: []step{
			{record: "msg_1"}, {record: "msg_2"}, {record: "msg_1"}, {record: "msg_3", check: "msg_1", want: true},
			{check: "msg_2", want: false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := NewSeen(time.Minute, tt.max, clock.Now)
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.record != "" {
					s.Record("grafana", st.record)
				}
				if st.check == "" {
					continue
				}
				if got := s.Check("grafana", st.check); got != st.want {
					t.Errorf("step %d: Check(%q) = %t, want %t", i+1, st.check, got, st.want)
				}
			}
		})
	}
}

func TestSeenSourcesAreSeparate(t *testing.T) {
	s := NewSeen(time.Minute, 10, newFakeClock().Now)
	s.Record("grafana", "msg_1")
	s.Record("a", "bc")
	for _, c := range []struct{ source, id string }{{"splunk", "msg_1"}, {"ab", "c"}, {"", "abc"}, {"grafana", ""}} {
		if s.Check(c.source, c.id) {
			t.Errorf("Check(%q, %q) = true; only (grafana, msg_1) and (a, bc) were recorded", c.source, c.id)
		}
	}
}

func TestSeenBoundedMemory(t *testing.T) {
	clock := newFakeClock()
	s := NewSeen(time.Minute, 100, clock.Now)
	for i := range 1000 {
		s.Record("grafana", fmt.Sprintf("msg_%d", i))
	}
	if n := s.Len(); n != 100 {
		t.Errorf("Len after 1000 records = %d, want the max 100", n)
	}
	if s.Check("grafana", "msg_899") || !s.Check("grafana", "msg_900") {
		t.Error("the newest 100 ids are not the ones kept")
	}
	clock.Advance(time.Minute)
	s.Record("grafana", "late")
	if n := s.Len(); n != 1 {
		t.Errorf("Len after the window = %d, want 1: expired ids kept", n)
	}
}

func TestSeenClockStepsBack(t *testing.T) {
	clock := newFakeClock()
	s := NewSeen(time.Minute, 10, clock.Now)
	s.Record("grafana", "msg_new")
	clock.Advance(-time.Hour)
	s.Record("grafana", "msg_old") // recorded after msg_new, but an hour earlier
	clock.Advance(time.Hour + 30*time.Second)
	if !s.Check("grafana", "msg_new") {
		t.Error("msg_new, 30s old, forgotten")
	}
	if s.Check("grafana", "msg_old") {
		t.Error("msg_old, 1h30s old, still seen")
	}
}

func TestNewSeenDefaults(t *testing.T) {
	s := NewSeen(0, 0, nil)
	if s.window != DefaultTolerance || s.max != DefaultSeenMax || s.now == nil {
		t.Errorf("NewSeen(0, 0, nil) = window %s, max %d; want %s, %d and a clock", s.window, s.max, DefaultTolerance, DefaultSeenMax)
	}
	s.Record("grafana", "msg_1")
	if !s.Check("grafana", "msg_1") {
		t.Error("Check after Record with the real clock = false")
	}
}

func TestSeenConcurrent(t *testing.T) {
	clock := newFakeClock()
	s := NewSeen(time.Minute, 50, clock.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("msg_%d_%d", g, i%60)
				if !s.Check("grafana", id) {
					s.Record("grafana", id)
				}
				if i%50 == 0 {
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := s.Len(); n > 50 {
		t.Errorf("Len = %d, over the max 50", n)
	}
}

// FuzzSeen runs a sequence of operations against Seen and against a simple
// model, and compares what Check says.
func FuzzSeen(f *testing.F) {
	f.Add([]byte{0x41, 0x01, 0x80 | 0x05, 0x01, 0x80 | 0x3f, 0x01})
	f.Add([]byte{0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x00, 0x01, 0x05})
	f.Add([]byte{})
	const window, max = 10 * time.Second, 4
	f.Fuzz(func(t *testing.T, ops []byte) {
		clock := newFakeClock()
		s := NewSeen(window, max, clock.Now)
		type rec struct {
			id string
			at time.Time
		}
		var model []rec // in recording order
		for _, op := range ops {
			id := fmt.Sprintf("msg_%d", op&0x07)
			now := clock.Now()
			live := model[:0]
			for _, m := range model {
				if now.Sub(m.at) < window {
					live = append(live, m)
				}
			}
			model = live
			switch op >> 6 {
			case 0:
				want := false
				for _, m := range model {
					want = want || m.id == id
				}
				if got := s.Check("src", id); got != want {
					t.Fatalf("Check(%s) = %t, model says %t", id, got, want)
				}
			case 1:
				s.Record("src", id)
				for i, m := range model {
					if m.id == id {
						model = append(model[:i], model[i+1:]...)
						break
					}
				}
				model = append(model, rec{id: id, at: now})
				if len(model) > max {
					model = model[1:]
				}
			default:
				clock.Advance(time.Duration(op&0x3f) * time.Second)
			}
			if s.Len() > max {
				t.Fatalf("Len = %d, over the max %d", s.Len(), max)
			}
		}
	})
}
