package activities

import (
	"bytes"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/playbooks"
)

func TestCatalog(t *testing.T) {
	want := []string{"http", "notify", "quarantine", "rollback", "rotate_secret", "set", "snapshot_evidence",
		"throttle", "validate_model", "verify_artifact"}
	if got := slices.Sorted(maps.Keys(NewRegistry(Options{}).Catalog())); !slices.Equal(got, want) {
		t.Errorf("catalog = %v, want %v", got, want)
	}
}

func TestSpecsSortedByName(t *testing.T) {
	r := NewRegistry(Options{})
	var names []string
	for _, s := range r.Specs() {
		names = append(names, s.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Specs() names %v are not sorted", names)
	}
	if want := slices.Sorted(maps.Keys(r.Catalog())); !slices.Equal(names, want) {
		t.Errorf("Specs() names %v, want the catalog's %v", names, want)
	}
}

// TestSpecsDocumented checks what `aisoar actions` and the linter rely on:
// every action and parameter is documented and has a known type.
func TestSpecsDocumented(t *testing.T) {
	validTypes := []playbooks.ParamType{
		playbooks.TypeString, playbooks.TypeInt, playbooks.TypeNumber, playbooks.TypeBool,
		playbooks.TypeDuration, playbooks.TypeList, playbooks.TypeMap, playbooks.TypeAny,
	}
	for _, spec := range NewRegistry(Options{}).Specs() {
		t.Run(spec.Name, func(t *testing.T) {
			if strings.TrimSpace(spec.Doc) == "" {
				t.Error("action has no Doc")
			}
			seen := map[string]bool{}
			for _, p := range spec.Params {
				if seen[p.Name] {
					t.Errorf("param %q is declared twice", p.Name)
				}
				seen[p.Name] = true
				if strings.TrimSpace(p.Doc) == "" {
					t.Errorf("param %q has no Doc", p.Name)
				}
				if !slices.Contains(validTypes, p.Type) {
					t.Errorf("param %q has type %q, want one of %v", p.Name, p.Type, validTypes)
				}
				if len(p.Enum) > 0 && p.Type != playbooks.TypeString {
					t.Errorf("param %q has an enum but type %q; enums are for strings", p.Name, p.Type)
				}
			}
		})
	}
}

// TestParamsMatchSpecs checks that each action's params struct decodes
// exactly the parameters its spec declares, so what the linter accepts is
// what the activity reads, and that every action with an effect takes the
// dry-run flag the workflow adds.
func TestParamsMatchSpecs(t *testing.T) {
	withoutEffect := []string{"set"}
	dryRunType := reflect.TypeFor[DryRun]()
	for _, a := range NewRegistry(Options{}).actions {
		t.Run(a.spec.Name, func(t *testing.T) {
			params := reflect.TypeOf(a.fn).In(1)
			var fields []string
			takesDryRun := false
			for _, f := range reflect.VisibleFields(params) {
				if f.Anonymous && f.Type == dryRunType {
					takesDryRun = true
					continue
				}
				if len(f.Index) > 1 && params.Field(f.Index[0]).Type == dryRunType {
					continue
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				fields = append(fields, name)
			}
			var declared []string
			for _, p := range a.spec.Params {
				declared = append(declared, p.Name)
			}
			slices.Sort(fields)
			slices.Sort(declared)
			if !slices.Equal(fields, declared) {
				t.Errorf("%v decodes %v, spec declares %v", params, fields, declared)
			}
			if !takesDryRun && !slices.Contains(withoutEffect, a.spec.Name) {
				t.Errorf("%v does not embed DryRun, so a dry run would act for real", params)
			}
		})
	}
}

// TestRegister runs each registered action by its name, as a workflow
// step would.
func TestRegister(t *testing.T) {
	var logs bytes.Buffer
	r := NewRegistry(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	r.Register(env)

	t.Run("set", func(t *testing.T) {
		val, err := env.ExecuteActivity("set", SetParams{Values: map[string]any{"blocked": true, "key": "k-1"}})
		if err != nil {
			t.Fatalf("set: %v", err)
		}
		var got map[string]any
		if err := val.Get(&got); err != nil {
			t.Fatal(err)
		}
		if want := map[string]any{"blocked": true, "key": "k-1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("set output = %v, want %v", got, want)
		}
	})

	t.Run("notify", func(t *testing.T) {
		val, err := env.ExecuteActivity("notify", NotifyParams{Channel: "#ai-incidents", Text: "key k-1 revoked"})
		if err != nil {
			t.Fatalf("notify: %v", err)
		}
		var got NotifyResult
		if err := val.Get(&got); err != nil {
			t.Fatal(err)
		}
		if got.Delivered != "log" {
			t.Errorf("Delivered = %q, want log", got.Delivered)
		}
		for _, part := range []string{"#ai-incidents", "key k-1 revoked", "incident="} {
			if !strings.Contains(logs.String(), part) {
				t.Errorf("log %q does not contain %q", logs.String(), part)
			}
		}
	})

	t.Run("http", func(t *testing.T) {
		// No allow_hosts were configured, so the registered action refuses.
		_, err := env.ExecuteActivity("http", HTTPParams{URL: "http://127.0.0.1:9/"})
		if appErr := appError(t, err); appErr.Type() != "NotAllowed" {
			t.Errorf("error type = %q, want NotAllowed", appErr.Type())
		}
	})
}
