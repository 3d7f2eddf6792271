package doubletest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// double is the smallest API double: it answers faults under the
// request's method and path, then under its path, with {"error": status}.
type double struct {
	rec Recorder
	url string
}

func newDouble(t *testing.T) *double {
	d := &double{}
	d.url = d.rec.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFault := func(w http.ResponseWriter, f Fault) {
			WriteJSON(w, f.Status, map[string]any{"error": f.Message})
		}
		if d.rec.Inject(w, r, writeFault, r.Method+" "+r.URL.Path, r.URL.Path) {
			return
		}
		if r.URL.Path == "/silent" {
			return
		}
		WriteJSON(w, http.StatusCreated, map[string]any{"path": r.URL.Path})
	})).URL
	return d
}

func TestRecord(t *testing.T) {
	d := newDouble(t)
	header := http.Header{"Content-Type": {"application/json"}, "X-Tenant": {"acme"}}
	if status, out := Call(t, "POST", d.url+"/items?b=2&a=1", header, `{"name":"x"}`); status != 201 || out["path"] != "/items" {
		t.Fatalf("answer = %d %v", status, out)
	}
	Call(t, "PUT", d.url+"/raw", nil, "not json")
	Call(t, "GET", d.url+"/silent", nil, "")
	got := d.rec.Requests()
	if len(got) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(got))
	}
	first := got[0]
	if first.Method != "POST" || first.Path != "/items" || first.RequestURI() != "/items?a=1&b=2" ||
		first.Header.Get("X-Tenant") != "acme" || !reflect.DeepEqual(first.Body, map[string]any{"name": "x"}) ||
		first.Raw != `{"name":"x"}` || first.Status != 201 {
		t.Errorf("first request = %+v", first)
	}
	if raw := got[1]; raw.Body != nil || raw.Raw != "not json" || raw.RequestURI() != "/raw" {
		t.Errorf("a body that is not JSON = %+v, want Body nil and Raw as sent", raw)
	}
	if silent := got[2]; silent.Status != 200 {
		t.Errorf("a handler that writes nothing recorded %d, want net/http's 200", silent.Status)
	}
}

func TestFaults(t *testing.T) {
	d := newDouble(t)
	d.rec.FailNext("/a", 503, 2)
	d.rec.Queue("PUT /a", Fault{Status: 409, Message: "conflict"}, 1)
	var got []string
	for _, method := range []string{"PUT", "PUT", "GET", "GET"} {
		status, out := Call(t, method, d.url+"/a", nil, "")
		msg, _ := out["error"].(string)
		got = append(got, strings.TrimSpace(method+" "+http.StatusText(status)+" "+msg))
	}
	want := []string{"PUT Conflict conflict", "PUT Service Unavailable", "GET Service Unavailable", "GET Created"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answers = %q, want %q", got, want)
	}
	if status, _ := Call(t, "GET", d.url+"/b", nil, ""); status != 201 {
		t.Errorf("a path without faults answered %d", status)
	}
}

func TestHang(t *testing.T) {
	d := newDouble(t)
	d.rec.HangNext("/slow", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", d.url+"/slow", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hung request ended with %v, want the client's deadline", err)
	}
	if got := d.rec.Requests(); len(got) != 1 || got[0].Status != 0 {
		t.Errorf("requests = %+v, want the hung one with status 0", got)
	}
	if status, _ := Call(t, "GET", d.url+"/slow", nil, ""); status != 201 {
		t.Errorf("after the hang: %d, want 201", status)
	}
}

func TestWriteJSON(t *testing.T) {
	for _, tt := range []struct{ set, want string }{
		{"", "application/json"},
		{"application/problem+json", "application/problem+json"},
	} {
		w := httptest.NewRecorder()
		if tt.set != "" {
			w.Header().Set("Content-Type", tt.set)
		}
		WriteJSON(w, http.StatusTeapot, map[string]int{"n": 1})
		if w.Code != http.StatusTeapot || w.Header().Get("Content-Type") != tt.want || w.Body.String() != "{\"n\":1}\n" {
			t.Errorf("with Content-Type %q set: %d %q %q", tt.set, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
}
