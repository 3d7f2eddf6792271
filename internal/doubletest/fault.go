package doubletest

import "net/http"

// Fault is an answer a test queued: Status with the API's error body, or
// a hang until the client gives up when Status is 0.
type Fault struct {
	Status int
	// Message is the error message to answer with; "" for the one the
	// API gives with Status. Doubles that let tests choose it read it.
	Message string
}

// FailNext makes the next n requests under key fail with status. What a
// key is depends on the double: a path, a method and path, an operation.
func (rec *Recorder) FailNext(key string, status, n int) {
	rec.Queue(key, Fault{Status: status}, n)
}

// HangNext makes the next n requests under key wait without an answer
// until the client gives up.
func (rec *Recorder) HangNext(key string, n int) { rec.Queue(key, Fault{}, n) }

// Queue makes the next n requests under key answer with f.
func (rec *Recorder) Queue(key string, f Fault, n int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.faults == nil {
		rec.faults = map[string][]Fault{}
	}
	for range n {
		rec.faults[key] = append(rec.faults[key], f)
	}
}

// Inject answers r with the next fault queued under the first of keys
// that has one, and reports whether it did: it hangs until the client
// gives up, or has answer write the fault in the API's own error body.
// A double calls it where the API would fail, after what the API checks
// first (such as credentials).
func (rec *Recorder) Inject(w http.ResponseWriter, r *http.Request, answer func(http.ResponseWriter, Fault), keys ...string) bool {
	f, ok := rec.next(keys)
	switch {
	case !ok:
		return false
	case f.Status == 0:
		<-r.Context().Done()
	default:
		answer(w, f)
	}
	return true
}

func (rec *Recorder) next(keys []string) (Fault, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, key := range keys {
		if queue := rec.faults[key]; len(queue) > 0 {
			rec.faults[key] = queue[1:]
			return queue[0], true
		}
	}
	return Fault{}, false
}
