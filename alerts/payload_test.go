package alerts

import (
	"reflect"
	"testing"
)

func TestPayloadLookup(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		path      string
		want      any // nil means not found
		wantField string
	}{
		{name: "top level", body: `{"a":"x"}`, path: "a", want: "x"},
		{name: "nested", body: `{"a":{"b":{"c":"x"}}}`, path: "a.b.c", want: "x"},
		{name: "flat dotted key", body: `{"a.b.c":"x"}`, path: "a.b.c", want: "x"},
		{name: "literal key wins over nesting", body: `{"a.b":"flat","a":{"b":"nested"}}`, path: "a.b", want: "flat"},
		{name: "flat key below a nested level", body: `{"a":{"b.c":"x"}}`, path: "a.b.c", want: "x"},
		{name: "null literal falls through to nesting", body: `{"a.b":null,"a":{"b":"x"}}`, path: "a.b", want: "x"},
		{name: "missing", body: `{"a":{}}`, path: "a.b"},
		{name: "missing parent", body: `{}`, path: "a.b"},
		{name: "null parent", body: `{"a":null}`, path: "a.b"},
		{name: "null value", body: `{"a":null}`, path: "a"},
		{name: "skip path", body: `{"-":"x"}`, path: "-"},
		{name: "scalar parent", body: `{"a":{"b":3}}`, path: "a.b.c", wantField: "a.b.c"},
		{name: "array parent", body: `{"a":[{"b":"x"}]}`, path: "a.b", wantField: "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeObject([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.lookup(tt.path)
			if tt.wantField != "" {
				fe, isField := p.err.(*FieldError)
				if !isField || fe.Field != tt.wantField {
					t.Fatalf("lookup(%q) error = %v, want a *FieldError for %q", tt.path, p.err, tt.wantField)
				}
				return
			}
			if p.err != nil {
				t.Fatalf("lookup(%q): %v", tt.path, p.err)
			}
			if ok != (tt.want != nil) || (ok && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("lookup(%q) = %v, %t; want %v", tt.path, got, ok, tt.want)
			}
		})
	}
}
