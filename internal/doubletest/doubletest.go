// Package doubletest holds what every test double of a third-party API
// shares: the record of the requests it received, with what it answered,
// and the faults a test queues for it (a status to fail with, or a hang
// until the client gives up). What an API answers, and how it words an
// error, stays in the API's own double, one place per API; a double hands
// its error body to Inject as a callback.
package doubletest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
)

// Request is one request a double received and what it answered.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// Body is the body decoded when it is a JSON object, nil otherwise.
	Body map[string]any
	// Raw is the body as sent.
	Raw string
	// Status is what the double answered; 0 while it has not answered,
	// and for a hang the client gave up on.
	Status int
}

// RequestURI is the request's path with its query, if any.
func (r Request) RequestURI() string {
	if len(r.Query) == 0 {
		return r.Path
	}
	return r.Path + "?" + r.Query.Encode()
}

// Recorder records the requests a double receives and keeps the faults
// queued for it. The zero value is ready to use; a double keeps one and
// wraps its handler with Wrap or Start.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
	faults   map[string][]Fault // by the key the double looks faults up by
}

// Start starts a loopback server that answers with h and records every
// request; it is closed when the test ends.
func (rec *Recorder) Start(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rec.Wrap(h))
	t.Cleanup(srv.Close)
	return srv
}

// Wrap records every request h serves, in the order they arrive, with the
// status h answers. h reads the body as sent.
func (rec *Recorder) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: string(raw)}
		_ = json.Unmarshal(raw, &req.Body) // stays nil unless a JSON object
		sw := &statusWriter{ResponseWriter: w, rec: rec, i: rec.add(req)}
		h.ServeHTTP(sw, r)
		if !sw.answered && r.Context().Err() == nil {
			sw.answer(http.StatusOK) // what net/http answers for a handler that writes nothing
		}
	})
}

// Requests returns the requests received so far, in order.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.requests)
}

func (rec *Recorder) add(req Request) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = append(rec.requests, req)
	return len(rec.requests) - 1
}

// statusWriter sets the status of the request it answers in the record
// as soon as the status is written, before the client can see it.
type statusWriter struct {
	http.ResponseWriter
	rec      *Recorder
	i        int
	answered bool
}

func (w *statusWriter) answer(status int) {
	w.answered = true
	w.rec.mu.Lock()
	w.rec.requests[w.i].Status = status
	w.rec.mu.Unlock()
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.answered {
		w.answer(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.answered {
		w.answer(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
