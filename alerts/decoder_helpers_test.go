package alerts

// Helpers shared by the tests of every decoder: golden files, single-alert
// decodes, refused bodies, fuzzing against the Decoder promises, and
// comparisons.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// readFile returns the contents of the test file at path.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read test data: %v", err)
	}
	return b
}

// testdataPayloads lists the payloads in testdata/<dir>: every .json file
// that is not a golden file. A directory without any is a failure.
func testdataPayloads(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".golden.json") })
	if len(paths) == 0 {
		tb.Fatalf("no payloads in testdata/%s", dir)
	}
	return paths
}

// checkGoldenDir runs checkGoldenFile, as a subtest, on every payload in
// testdata/<dir>.
func checkGoldenDir(t *testing.T, d Decoder, dir string) {
	t.Helper()
	for _, path := range testdataPayloads(t, dir) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) { checkGoldenFile(t, d, dir, name) })
	}
}

// checkGoldenFile decodes testdata/<dir>/<name>.json with d and compares the
// alerts, as indented JSON without Raw, with <name>.golden.json next to it,
// or rewrites that file when the test runs with -update.
func checkGoldenFile(t *testing.T, d Decoder, dir, name string) {
	t.Helper()
	base := filepath.Join("testdata", dir, name)
	body := readFile(t, base+".json")
	got, err := d.Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range got {
		if !bytes.Equal(got[i].Raw, body) {
			t.Errorf("alert %d: Raw is not the body", i)
		}
		got[i].Raw = nil // kept out of the golden file to keep it readable
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	out = append(out, '\n')
	golden := base + ".golden.json"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	if want := readFile(t, golden); !bytes.Equal(out, want) {
		t.Errorf("result differs from %s (rerun with -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, out, want)
	}
}

// decodeFile decodes testdata/<dir>/<name>.json with d, which must succeed.
func decodeFile(t *testing.T, d Decoder, dir, name string) []Alert {
	t.Helper()
	got, err := d.Decode(readFile(t, filepath.Join("testdata", dir, name+".json")))
	if err != nil {
		t.Fatalf("Decode %s/%s: %v", dir, name, err)
	}
	return got
}

// decodeOne decodes body with d, which must give exactly one alert.
func decodeOne(t *testing.T, d Decoder, body string) Alert {
	t.Helper()
	got, err := d.Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	if len(got) != 1 {
		t.Fatalf("Decode(%s) gave %d alerts, want 1", body, len(got))
	}
	return got[0]
}

// decodedCase is a body a decoder must decode to one alert that passes check.
type decodedCase struct {
	name  string
	body  string
	check func(t *testing.T, a Alert)
}

// checkDecoded runs each of tests as a subtest, decoding its body with d.
func checkDecoded(t *testing.T, d Decoder, tests []decodedCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, decodeOne(t, d, tt.body)) })
	}
}

// refusedBody is a body a decoder must refuse with a *FieldError.
type refusedBody struct {
	name      string
	body      string
	wantField string
	wantIs    error  // checked with errors.Is when set
	wantMsg   string // the whole message, when set
}

// checkRefused runs tt.check with d as a subtest for each of tests.
func checkRefused(t *testing.T, d Decoder, tests []refusedBody) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, d) })
	}
}

// check wants d to refuse the body with the *FieldError tt describes.
func (tt refusedBody) check(t *testing.T, d Decoder) {
	t.Helper()
	got, err := d.Decode([]byte(tt.body))
	if err == nil {
		t.Fatalf("Decode succeeded with %+v, want an error", got)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if fe.Field != tt.wantField {
		t.Errorf("Field = %q, want %q (error: %v)", fe.Field, tt.wantField, err)
	}
	if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
		t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
	}
	if tt.wantMsg != "" && err.Error() != tt.wantMsg {
		t.Errorf("message:\ngot  %s\nwant %s", err, tt.wantMsg)
	}
}

// fuzzOptions relaxes what checkPromises holds a decoder to; the zero value
// holds it to every promise.
type fuzzOptions struct {
	// seeds are bodies added to the corpus beside the testdata payloads.
	seeds []string
	// emptyOK allows a body to decode to no alerts, as an empty batch does.
	emptyOK bool
	// anyTechnique allows techniques that are not ATLAS ids, for a decoder
	// that takes them from the payload as they are written.
	anyTechnique bool
}

// fuzzDecoder fuzzes d, whose alerts have the given source, with
// checkPromises, seeded with the payloads in testdata/<dir> and opts.seeds.
func fuzzDecoder(f *testing.F, d Decoder, source, dir string, opts fuzzOptions) {
	addSeeds(f, dir, opts.seeds...)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkPromises(t, d, source, body, opts)
	})
}

// addSeeds adds the payloads in testdata/<dir> and extra to f's corpus.
func addSeeds(f *testing.F, dir string, extra ...string) {
	f.Helper()
	for _, path := range testdataPayloads(f, dir) {
		f.Add(readFile(f, path))
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkPromises decodes body with d for what the Decoder interface promises:
// no panic, a *FieldError or at least one alert, and alerts that are
// complete, bounded, deterministic and encodable, with source as Source.
func checkPromises(t *testing.T, d Decoder, source string, body []byte, opts fuzzOptions) {
	t.Helper()
	got, err := d.Decode(body)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v (%T) is not a *FieldError", err, err)
		}
		return
	}
	if len(got) == 0 && !opts.emptyOK {
		t.Fatal("no error and no alerts")
	}
	for _, a := range got {
		if !bytes.Equal(a.Raw, body) {
			t.Error("Raw is not the body")
		}
		if a.ID == "" || a.Source != source {
			t.Errorf("ID %q, Source %q: want both set", a.ID, a.Source)
		}
		if a.Status != string(StatusFiring) && a.Status != string(StatusResolved) {
			t.Errorf("Status = %q", a.Status)
		}
		if a.Severity < 0 || a.Severity > 5 {
			t.Errorf("Severity = %d", a.Severity)
		}
		if !a.Time.IsZero() && a.Time.Location() != time.UTC {
			t.Errorf("Time %s is not in UTC", a.Time)
		}
		if !a.Received.IsZero() {
			t.Errorf("Received = %s, want zero", a.Received)
		}
		if a.Labels == nil || a.Techniques == nil {
			t.Error("nil Labels or Techniques")
		}
		if len(a.Labels) > MaxLabels || len(a.Techniques) > MaxTechniques {
			t.Errorf("%d labels and %d techniques exceed the bounds", len(a.Labels), len(a.Techniques))
		}
		if !slices.IsSorted(a.Techniques) || len(slices.Compact(slices.Clone(a.Techniques))) != len(a.Techniques) {
			t.Errorf("Techniques %q not sorted and unique", a.Techniques)
		}
		for _, id := range a.Techniques {
			if !opts.anyTechnique && atlasID.FindString(id) != id {
				t.Errorf("technique %q is not an ATLAS id", id)
			}
		}
		// Alerts travel as JSON (Temporal payloads), so every decoded alert must encode.
		if _, err := json.Marshal(a); err != nil {
			t.Errorf("decoded alert does not marshal: %v", err)
		}
	}
	again, _ := d.Decode(body)
	if !reflect.DeepEqual(got, again) {
		t.Error("decoding the same body twice gave different alerts")
	}
}

// checkSameIncident checks that the resolved notice of an alert reaches the
// incident of its firing notice.
func checkSameIncident(t *testing.T, firing, resolved Alert) {
	t.Helper()
	wantEq(t, "firing Status", firing.Status, "firing")
	wantEq(t, "resolved Status", resolved.Status, "resolved")
	wantEq(t, "resolved Fingerprint", resolved.Fingerprint(), firing.Fingerprint())
	wantEq(t, "resolved Rule", resolved.Rule, firing.Rule)
	wantEq(t, "resolved GroupKey", resolved.GroupKey, firing.GroupKey)
	wantEq(t, "resolved Asset", resolved.Asset, firing.Asset)
}

// checkSameEpisode checks that the resolved notice of an alert reaches the
// incident of its firing notice and has its id, as a sender that tracks
// one alert through its life gives it.
func checkSameEpisode(t *testing.T, firing, resolved Alert) {
	t.Helper()
	checkSameIncident(t, firing, resolved)
	wantEq(t, "resolved ID", resolved.ID, firing.ID)
}

// wantEq reports what differs when got is not deeply equal to want.
func wantEq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// wantTime reports got when it is not the same instant as want.
func wantTime(t *testing.T, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("Time = %s, want %s", got, want)
	}
}

// wantSeverity is a decodedCase check that the alert has the severity want.
func wantSeverity(want int64) func(t *testing.T, a Alert) {
	return func(t *testing.T, a Alert) {
		t.Helper()
		wantEq(t, "Severity", a.Severity, want)
	}
}
