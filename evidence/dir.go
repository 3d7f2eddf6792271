package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a Backend on a local directory. Objects are written to a
// temporary file and hard-linked into place, which fails when the name is
// taken: a finished object is never replaced, and is left read-only.
type Dir struct {
	Root string
}

const tempPrefix = ".tmp-"

// Create writes r at key unless key exists.
func (d Dir) Create(_ context.Context, key string, r io.Reader) error {
	path := d.path(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return ErrExists
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("evidence store: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o400)
	}
	if err != nil {
		return fmt.Errorf("evidence store: writing %s: %w", key, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		return fmt.Errorf("evidence store: %w", err)
	}
	return nil
}

// Open reads key.
func (d Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	f, err := os.Open(d.path(key))
	if err != nil {
		return nil, fmt.Errorf("evidence store: %w", err)
	}
	return f, nil
}

// List returns the keys under prefix, sorted.
func (d Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	start := d.path(prefix)
	if !strings.HasSuffix(prefix, "/") {
		start = filepath.Dir(start)
	}
	err := filepath.WalkDir(start, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) {
			return err
		}
		rel, err := filepath.Rel(d.Root, path)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence store: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

// Location is the directory.
func (d Dir) Location() string { return d.Root }

func (d Dir) path(key string) string { return filepath.Join(d.Root, filepath.FromSlash(key)) }
