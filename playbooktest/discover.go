package playbooktest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aisoar/aisoar/playbooks"
)

// Pair is a playbook file and the scenario file beside it.
type Pair struct {
	// Playbook is named as playbooks.LoadLibrary names it: a path, or
	// builtin:library/<stem>.yaml.
	Playbook string
	// Scenarios is <stem>_test.yaml beside it; "" when there is none.
	Scenarios string
}

// Discover finds the playbooks under paths (files or directories) and, with
// builtin, in the embedded library, each with its scenario file. A
// scenario file given or found without its playbook is an error.
func Discover(paths []string, builtin bool) ([]Pair, error) {
	var (
		pairs []Pair
		errs  []error
	)
	if builtin {
		lib := playbooks.BuiltinFiles()
		files, _ := fs.Glob(lib, "library/*.yaml")
		exists := func(name string) bool { _, err := fs.Stat(lib, name); return err == nil }
		p, err := pair(files, exists)
		for i := range p {
			p[i].Playbook = BuiltinPrefix + p[i].Playbook
			if p[i].Scenarios != "" {
				p[i].Scenarios = BuiltinPrefix + p[i].Scenarios
			}
		}
		pairs, errs = append(pairs, p...), append(errs, err)
	}
	exists := func(name string) bool { info, err := os.Stat(name); return err == nil && !info.IsDir() }
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files := []string{path}
		if info.IsDir() {
			files = nil
			err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				switch {
				case err != nil:
					return err
				case d.IsDir() && d.Name() == "testdata" && p != path:
					// Fixtures beside playbooks, as playbooks.PlaybookFiles skips them.
					return filepath.SkipDir
				case !d.IsDir() && isYAML(p):
					files = append(files, p)
				}
				return nil
			})
			errs = append(errs, err)
		}
		p, err := pair(files, exists)
		pairs, errs = append(pairs, p...), append(errs, err)
	}
	// The same playbook may be reached twice (a directory and a file in it).
	slices.SortFunc(pairs, func(a, b Pair) int { return strings.Compare(a.Playbook, b.Playbook) })
	pairs = slices.CompactFunc(pairs, func(a, b Pair) bool { return a.Playbook == b.Playbook })
	return pairs, errors.Join(errs...)
}

// pair matches playbook files with their scenario files; exists tells
// whether a file is there.
func pair(files []string, exists func(string) bool) ([]Pair, error) {
	var (
		pairs []Pair
		errs  []error
	)
	for _, f := range files {
		if stem, ok := scenarioStem(f); ok {
			if playbook := findSibling(stem, exists); playbook != "" {
				pairs = append(pairs, Pair{Playbook: playbook, Scenarios: f})
			} else {
				errs = append(errs, fmt.Errorf("%s: no playbook %s.yaml beside it", f, filepath.Base(stem)))
			}
			continue
		}
		ext := filepath.Ext(f)
		pairs = append(pairs, Pair{Playbook: f, Scenarios: findSibling(strings.TrimSuffix(f, ext)+"_test", exists)})
	}
	return pairs, errors.Join(errs...)
}

// scenarioStem returns the playbook stem of a scenario file name.
func scenarioStem(file string) (string, bool) {
	if !isYAML(file) {
		return "", false
	}
	return strings.CutSuffix(strings.TrimSuffix(file, filepath.Ext(file)), "_test")
}

func findSibling(stem string, exists func(string) bool) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if exists(stem + ext) {
			return stem + ext
		}
	}
	return ""
}

func isYAML(file string) bool {
	ext := filepath.Ext(file)
	return ext == ".yaml" || ext == ".yml"
}
