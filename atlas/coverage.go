package atlas

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Convention is how Coverage counts, stated in every report.
const Convention = "a playbook covers exactly the ids in its atlas: list; as in ATT&CK Navigator, a technique " +
	"and its sub-techniques are separate cells, so naming a technique does not cover its sub-techniques and " +
	"naming a sub-technique does not cover its technique; percent is covered techniques over all techniques, " +
	"sub-techniques are counted separately"

// PlaybookRef is what coverage needs to know about a playbook.
type PlaybookRef struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	// ATLAS are the technique ids the playbook answers.
	ATLAS []string `json:"atlas"`
}

// Count is how many of a set of techniques playbooks cover.
type Count struct {
	Covered int `json:"covered"`
	Total   int `json:"total"`
	// Percent is Covered/Total in percent, to one decimal; 0 for an empty set.
	Percent float64 `json:"percent"`
}

// String formats the count as "covered/total".
func (c Count) String() string { return fmt.Sprintf("%d/%d", c.Covered, c.Total) }

func (c *Count) add(covered bool) {
	c.Total++
	if covered {
		c.Covered++
	}
	c.Percent = math.Round(1000*float64(c.Covered)/float64(c.Total)) / 10
}

// Summary is the coverage of a set of techniques: techniques and
// sub-techniques apart and together.
type Summary struct {
	// Percent is the headline figure: Techniques.Percent.
	Percent       float64 `json:"percent"`
	Techniques    Count   `json:"techniques"`
	Subtechniques Count   `json:"subtechniques"`
	// All counts techniques and sub-techniques alike.
	All Count `json:"all"`
}

func (s *Summary) add(t Technique, covered bool) {
	if t.IsSubtechnique() {
		s.Subtechniques.add(covered)
	} else {
		s.Techniques.add(covered)
	}
	s.All.add(covered)
	s.Percent = s.Techniques.Percent
}

// TacticCoverage is the coverage of one column of the matrix: the
// techniques that serve the tactic and their sub-techniques.
type TacticCoverage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Summary
}

// TechniqueCoverage says which playbooks answer a technique.
type TechniqueCoverage struct {
	Technique
	// Playbooks are the ids of the playbooks that name the technique, sorted.
	Playbooks []string `json:"playbooks"`
}

// Covered reports whether some playbook answers the technique.
func (t TechniqueCoverage) Covered() bool { return len(t.Playbooks) > 0 }

// UnknownID is an id playbooks name that is not a technique of the catalog.
type UnknownID struct {
	ID        string   `json:"id"`
	Playbooks []string `json:"playbooks"`
}

// Report is the coverage of the ATLAS matrix by a set of playbooks.
type Report struct {
	ATLASVersion string `json:"atlas_version"`
	// Generated is when the report was made; Coverage leaves it zero for the
	// caller to stamp.
	Generated  time.Time `json:"generated,omitzero"`
	Convention string    `json:"convention"`
	Overall    Summary   `json:"overall"`
	// Tactics are in matrix order.
	Tactics []TacticCoverage `json:"tactics"`
	// Techniques are every technique and sub-technique of the catalog, in
	// catalog order.
	Techniques []TechniqueCoverage `json:"techniques"`
	// Playbooks are the playbooks counted, by id.
	Playbooks []PlaybookRef `json:"playbooks"`
	// Unknown are ids playbooks name that the catalog lacks (tactic ids,
	// ids of another ATLAS release); they cover nothing.
	Unknown []UnknownID `json:"unknown,omitempty"`
}

// Coverage maps the playbooks onto the catalog's techniques. See Convention
// for how techniques and sub-techniques are counted; a technique serving
// several tactics counts in each tactic's column but once overall.
func Coverage(c *Catalog, pbs []PlaybookRef) Report {
	r := Report{ATLASVersion: c.Version, Convention: Convention, Playbooks: slices.Clone(pbs)}
	slices.SortFunc(r.Playbooks, func(a, b PlaybookRef) int { return strings.Compare(a.ID, b.ID) })
	answers := map[string][]string{}
	unknown := map[string][]string{}
	for _, pb := range r.Playbooks {
		for _, id := range pb.ATLAS {
			target := answers
			if _, ok := c.Technique(id); !ok {
				target = unknown
			}
			if !slices.Contains(target[id], pb.ID) {
				target[id] = append(target[id], pb.ID)
			}
		}
	}
	tactics := make([]TacticCoverage, len(c.Tactics))
	for i, t := range c.Tactics {
		tactics[i] = TacticCoverage{ID: t.ID, Name: t.Name}
	}
	for _, t := range c.Techniques {
		tc := TechniqueCoverage{Technique: t, Playbooks: answers[t.ID]}
		if tc.Playbooks == nil {
			tc.Playbooks = []string{}
		}
		r.Techniques = append(r.Techniques, tc)
		r.Overall.add(t, tc.Covered())
		for _, ta := range t.Tactics {
			tactics[c.tactics[ta]].add(t, tc.Covered())
		}
	}
	r.Tactics = tactics
	for id, pbs := range unknown {
		r.Unknown = append(r.Unknown, UnknownID{ID: id, Playbooks: pbs})
	}
	slices.SortFunc(r.Unknown, func(a, b UnknownID) int { return strings.Compare(a.ID, b.ID) })
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Technique returns the coverage of the technique with the id.
func (r *Report) Technique(id string) (TechniqueCoverage, bool) {
	i := slices.IndexFunc(r.Techniques, func(t TechniqueCoverage) bool { return t.ID == id })
	if i < 0 {
		return TechniqueCoverage{}, false
	}
	return r.Techniques[i], true
}

// Playbook returns the playbook with the id.
func (r *Report) Playbook(id string) (PlaybookRef, bool) {
	i := slices.IndexFunc(r.Playbooks, func(p PlaybookRef) bool { return p.ID == id })
	if i < 0 {
		return PlaybookRef{}, false
	}
	return r.Playbooks[i], true
}
