package atlas_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/atlas"
)

// TestDefaultCatalog checks the embedded catalog on its own terms, beyond
// what Parse already enforces, and pins the ids aisoar's docs and playbooks
// rely on.
func TestDefaultCatalog(t *testing.T) {
	c := atlas.Default()
	if c.Version != "5.4.0" {
		t.Errorf("version %q; update this test, the README and the atlas.yaml header together", c.Version)
	}
	techniqueID := regexp.MustCompile(`^AML\.T\d{4}$`)
	subID := regexp.MustCompile(`^AML\.T\d{4}\.\d{3}$`)
	var techniques, subs int
	seen := map[string]bool{}
	for _, tc := range c.Techniques {
		if seen[tc.ID] {
			t.Errorf("%s listed twice", tc.ID)
		}
		seen[tc.ID] = true
		switch {
		case techniqueID.MatchString(tc.ID) && tc.Parent == "":
			techniques++
		case subID.MatchString(tc.ID) && strings.HasPrefix(tc.ID, tc.Parent+"."):
			subs++
			if _, ok := c.Technique(tc.Parent); !ok {
				t.Errorf("%s: parent %s missing", tc.ID, tc.Parent)
			}
		default:
			t.Errorf("%s: malformed id or parent %q", tc.ID, tc.Parent)
		}
		if len(tc.Tactics) == 0 {
			t.Errorf("%s serves no tactic", tc.ID)
		}
		for _, ta := range tc.Tactics {
			if _, ok := c.Tactic(ta); !ok {
				t.Errorf("%s: tactic %s missing", tc.ID, ta)
			}
		}
		if strings.TrimSpace(tc.Name) != tc.Name || tc.Name == "" {
			t.Errorf("%s: name %q", tc.ID, tc.Name)
		}
	}
	// ATLAS 5.4.0 has 16 tactics, 97 techniques and 58 sub-techniques.
	if len(c.Tactics) != 16 || techniques != 97 || subs != 58 {
		t.Errorf("%d tactics, %d techniques, %d sub-techniques; want 16, 97, 58", len(c.Tactics), techniques, subs)
	}
	for _, ta := range c.Tactics {
		if len(c.InTactic(ta.ID)) == 0 {
			t.Errorf("tactic %s %s has no technique", ta.ID, ta.Name)
		}
	}
	if c.Tactics[0].Name != "Reconnaissance" || c.Tactics[len(c.Tactics)-1].Name != "Impact" {
		t.Errorf("tactics are not in matrix order: %v … %v", c.Tactics[0], c.Tactics[len(c.Tactics)-1])
	}
	known := map[string]string{
		"AML.T0024":     "Exfiltration via AI Inference API",
		"AML.T0024.002": "Extract AI Model",
		"AML.T0040":     "AI Model Inference API Access",
		"AML.T0020":     "Poison Training Data",
		"AML.T0018":     "Manipulate AI Model",
		"AML.T0015":     "Evade AI Model",
		"AML.T0043":     "Craft Adversarial Data",
		"AML.T0010":     "AI Supply Chain Compromise",
		"AML.T0058":     "Publish Poisoned Models",
	}
	for id, want := range known {
		if got, ok := c.Lookup(id); !ok || got != want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", id, got, ok, want)
		}
	}
	if names := c.Names(); len(names) != len(c.Techniques) || names["AML.T0024"] != known["AML.T0024"] {
		t.Errorf("Names() has %d entries, want %d", len(names), len(c.Techniques))
	}
	if sub, _ := c.Technique("AML.T0024.002"); !sub.IsSubtechnique() || sub.Tactics[0] != "AML.TA0010" {
		t.Errorf("AML.T0024.002 = %+v, want a sub-technique of Exfiltration", sub)
	}
}

func TestParseRejectsInconsistentCatalogs(t *testing.T) {
	const head = "version: x\ntactics:\n  - {id: AML.TA0001, name: Staging}\ntechniques:\n"
	tests := []struct {
		name, techniques, want string
	}{
		{"malformed id", "  - {id: T0001, name: A, tactics: [AML.TA0001]}\n", `"T0001": the id must look like`},
		{"duplicate", "  - {id: AML.T0001, name: A, tactics: [AML.TA0001]}\n  - {id: AML.T0001, name: B, tactics: [AML.TA0001]}\n", "listed twice"},
		{"unknown tactic", "  - {id: AML.T0001, name: A, tactics: [AML.TA0009]}\n", `tactic "AML.TA0009" is not in the catalog`},
		{"no tactic", "  - {id: AML.T0001, name: A}\n", "serves no tactic"},
		{"missing parent", "  - {id: AML.T0001.000, name: A, parent: AML.T0001}\n", `parent "AML.T0001" is not in the catalog`},
		{"wrong parent", "  - {id: AML.T0001, name: A, tactics: [AML.TA0001]}\n  - {id: AML.T0001.000, name: B, parent: AML.T0002}\n", "must name its parent"},
		{"no name", "  - {id: AML.T0001, tactics: [AML.TA0001]}\n", "has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := atlas.Parse([]byte(head + tt.techniques))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
