// Package diag is how aisoar reports problems in the files people write
// (playbooks, the asset inventory): diagnostics at file:line:col, and
// "did you mean" suggestions for misspelt names.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem found in a file, at a 1-based line and column.
type Diagnostic struct {
	File    string
	Line    int
	Col     int
	Message string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
}

// Diagnostics is every problem found while loading and linting, in file
// order. As an error it prints one "file:line:col: message" per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the diagnostics by file, line and column, keeping the order
// of those found at the same place.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns ds as an error, or nil when it is empty.
func (ds Diagnostics) Err() error {
	if len(ds) == 0 {
		return nil
	}
	return ds
}

// Join appends key to a dotted path such as "steps[1].with": the form in
// which diagnostics name a place in a file.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
