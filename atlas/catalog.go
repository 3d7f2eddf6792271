// Package atlas is the MITRE ATLAS catalog, the tactics and techniques of
// the ATLAS matrix shipped with aisoar, and the coverage of that matrix by
// playbooks: which techniques a playbook answers, per tactic and overall.
package atlas

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// embedded is the catalog shipped with aisoar; atlas.yaml says where it
// comes from.
//
//go:embed atlas.yaml
var embedded []byte

var (
	tacticIDPattern    = regexp.MustCompile(`^AML\.TA\d{4}$`)
	techniqueIDPattern = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)
)

// Tactic is a column of the ATLAS matrix: what the adversary is trying to
// achieve.
type Tactic struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
}

// Technique is an ATLAS technique or sub-technique: how the adversary
// achieves a tactic.
type Technique struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	// Tactics are the ids of the tactics the technique serves; a
	// sub-technique serves its parent's.
	Tactics []string `json:"tactics" yaml:"tactics"`
	// Parent is the technique a sub-technique refines; empty for a
	// technique.
	Parent string `json:"parent,omitempty" yaml:"parent"`
}

// IsSubtechnique reports whether t refines another technique.
func (t Technique) IsSubtechnique() bool { return t.Parent != "" }

// Catalog is one release of the ATLAS matrix. It is read-only once parsed
// and safe for concurrent use.
type Catalog struct {
	// Version is the ATLAS data release the catalog was taken from.
	Version string
	// Released is that release's date.
	Released string
	// URL is where people read about the techniques.
	URL string
	// Tactics are in the order of the matrix's columns.
	Tactics []Tactic
	// Techniques are sorted by id, so each technique is followed by its
	// sub-techniques.
	Techniques []Technique

	tactics    map[string]int
	techniques map[string]int
}

// catalogFile is the layout of atlas.yaml.
type catalogFile struct {
	Version    string      `yaml:"version"`
	Released   string      `yaml:"released"`
	URL        string      `yaml:"url"`
	Tactics    []Tactic    `yaml:"tactics"`
	Techniques []Technique `yaml:"techniques"`
}

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Parse(embedded)
	if err != nil {
		panic("atlas: the embedded atlas.yaml is invalid: " + err.Error())
	}
	return c
})

// Default returns the catalog shipped with aisoar.
func Default() *Catalog { return defaultCatalog() }

// Parse reads a catalog in the layout of atlas.yaml and checks it: ids are
// well formed and unique, every technique serves a known tactic, and every
// sub-technique's parent exists.
func Parse(data []byte) (*Catalog, error) {
	var f catalogFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("reading the ATLAS catalog: %w", err)
	}
	c := &Catalog{Version: f.Version, Released: f.Released, URL: f.URL, Tactics: f.Tactics, Techniques: f.Techniques,
		tactics: map[string]int{}, techniques: map[string]int{}}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Version == "" {
		add("the catalog has no version")
	}
	for i, t := range c.Tactics {
		switch _, dup := c.tactics[t.ID]; {
		case !tacticIDPattern.MatchString(t.ID):
			add("tactic %q: the id must look like AML.TA0001", t.ID)
		case dup:
			add("tactic %q is listed twice", t.ID)
		case t.Name == "":
			add("tactic %q has no name", t.ID)
		}
		c.tactics[t.ID] = i
	}
	slices.SortStableFunc(c.Techniques, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) })
	for i, t := range c.Techniques {
		switch _, dup := c.techniques[t.ID]; {
		case !techniqueIDPattern.MatchString(t.ID):
			add("technique %q: the id must look like AML.T0001 or AML.T0001.000", t.ID)
		case dup:
			add("technique %q is listed twice", t.ID)
		case t.Name == "":
			add("technique %q has no name", t.ID)
		}
		c.techniques[t.ID] = i
	}
	for i := range c.Techniques {
		t := &c.Techniques[i]
		// AML.T0024.002 refines AML.T0024.
		parent := ""
		if len(t.ID) > len("AML.T0000") {
			parent = t.ID[:len("AML.T0000")]
		}
		isSub := parent != ""
		switch {
		case isSub && t.Parent != parent:
			add("sub-technique %q must name its parent %q", t.ID, parent)
		case !isSub && t.Parent != "":
			add("technique %q names a parent, but only sub-techniques (like %s.000) have one", t.ID, t.ID)
		case isSub && len(t.Tactics) > 0:
			add("sub-technique %q lists tactics; it serves its parent's", t.ID)
		case isSub:
			p, ok := c.Technique(parent)
			if !ok {
				add("sub-technique %q: parent %q is not in the catalog", t.ID, parent)
				continue
			}
			t.Tactics = p.Tactics
		case len(t.Tactics) == 0:
			add("technique %q serves no tactic", t.ID)
		}
		for _, ta := range t.Tactics {
			if _, ok := c.tactics[ta]; !ok {
				add("technique %q: tactic %q is not in the catalog", t.ID, ta)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("the ATLAS catalog %s is inconsistent:\n%w", c.Version, err)
	}
	return c, nil
}

// Technique returns the technique or sub-technique with the id.
func (c *Catalog) Technique(id string) (Technique, bool) {
	i, ok := c.techniques[id]
	if !ok {
		return Technique{}, false
	}
	return c.Techniques[i], true
}

// Tactic returns the tactic with the id.
func (c *Catalog) Tactic(id string) (Tactic, bool) {
	i, ok := c.tactics[id]
	if !ok {
		return Tactic{}, false
	}
	return c.Tactics[i], true
}

// Lookup returns the name of the technique or sub-technique with the id.
func (c *Catalog) Lookup(id string) (name string, ok bool) {
	t, ok := c.Technique(id)
	return t.Name, ok
}

// Names maps every technique and sub-technique id to its name: the form
// playbooks.CompilerOptions takes to check the ids playbooks name.
func (c *Catalog) Names() map[string]string {
	names := make(map[string]string, len(c.Techniques))
	for _, t := range c.Techniques {
		names[t.ID] = t.Name
	}
	return names
}

// Subtechniques returns the sub-techniques of a technique, by id.
func (c *Catalog) Subtechniques(id string) []Technique {
	var subs []Technique
	for _, t := range c.Techniques {
		if t.Parent == id {
			subs = append(subs, t)
		}
	}
	return subs
}

// InTactic returns the techniques (not sub-techniques) that serve a tactic,
// by id: the cells of the tactic's column.
func (c *Catalog) InTactic(tactic string) []Technique {
	var ts []Technique
	for _, t := range c.Techniques {
		if !t.IsSubtechnique() && slices.Contains(t.Tactics, tactic) {
			ts = append(ts, t)
		}
	}
	return ts
}
