package playbooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aisoar/aisoar/alerts"
)

// builtin holds the playbooks shipped with aisoar, their scenarios, and
// the example inventory the scenarios run against.
//
//go:embed library/*.yaml library/testdata/*.yaml
var builtin embed.FS

// BuiltinFiles is the embedded library: library/<stem>.yaml playbooks,
// their library/<stem>_test.yaml scenarios and library/testdata. LoadLibrary
// names its files "builtin:library/<stem>.yaml".
func BuiltinFiles() fs.FS { return builtin }

// Library is the set of loaded playbooks, by id.
type Library struct {
	playbooks []*Compiled
}

// LoadOptions says where playbooks come from.
type LoadOptions struct {
	// Builtin loads the embedded library.
	Builtin bool
	// Paths are playbook files or directories of *.yaml files.
	Paths []string
}

// LoadLibrary loads and compiles every playbook, reporting the problems of
// all files at once. A playbook id may be defined only once.
func (c *Compiler) LoadLibrary(opts LoadOptions) (*Library, error) {
	var (
		lib   Library
		diags Diagnostics
		errs  []error
	)
	add := func(name string, data []byte) {
		compiled, d := c.Load(name, data)
		diags = append(diags, d...)
		if compiled != nil {
			lib.playbooks = append(lib.playbooks, compiled)
		}
	}
	if opts.Builtin {
		files, _ := fs.Glob(builtin, "library/*.yaml")
		for _, f := range files {
			if strings.HasSuffix(f, "_test.yaml") {
				continue // scenarios, for aisoar playbook test
			}
			data, err := builtin.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add("builtin:"+f, data)
		}
	}
	for _, p := range opts.Paths {
		files, err := PlaybookFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add(f, data)
		}
	}
	seen := map[string]string{}
	for _, pb := range lib.playbooks {
		if first, dup := seen[pb.Playbook.ID]; dup {
			diags = append(diags, Diagnostic{File: pb.Playbook.File, Line: 1, Col: 1,
				Message: fmt.Sprintf("playbook id %q is already defined in %s", pb.Playbook.ID, first)})
		}
		seen[pb.Playbook.ID] = pb.Playbook.File
	}
	if len(diags) > 0 {
		errs = append(errs, diags)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(lib.playbooks, func(a, b *Compiled) int { return strings.Compare(a.Playbook.ID, b.Playbook.ID) })
	return &lib, nil
}

// PlaybookFiles returns path itself when it is a file, or the playbook
// files in it (*.yaml, *.yml, not the *_test.yaml scenarios, nothing under
// testdata) when it is a directory.
func PlaybookFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" && p != path {
				return filepath.SkipDir // fixtures beside playbooks, such as an example inventory
			}
			return nil
		}
		ext := filepath.Ext(p)
		if (ext == ".yaml" || ext == ".yml") && !strings.HasSuffix(strings.TrimSuffix(p, ext), "_test") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// Playbooks returns the loaded playbooks sorted by id.
func (l *Library) Playbooks() []*Compiled { return l.playbooks }

// Get returns the playbook with the given id, or nil.
func (l *Library) Get(id string) *Compiled {
	for _, pb := range l.playbooks {
		if pb.Playbook.ID == id {
			return pb
		}
	}
	return nil
}

// Match returns the playbooks of the triage class whose trigger selects
// the alert; vars holds the alert and its asset (see NewVars and
// SetAsset), converted once for triage and every trigger. A trigger that
// fails to evaluate (say, a label the alert lacks) does not match; its
// error is returned beside the matches so the caller can log it.
func (l *Library) Match(a *alerts.Alert, vars *Vars, class string) ([]*Compiled, error) {
	var (
		matched []*Compiled
		errs    []error
	)
	for _, pb := range l.playbooks {
		if pb.Playbook.TriageClass() != class {
			continue
		}
		ok, err := pb.Matches(a, vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("playbook %q trigger: %w", pb.Playbook.ID, err))
			continue
		}
		if ok {
			matched = append(matched, pb)
		}
	}
	return matched, errors.Join(errs...)
}
