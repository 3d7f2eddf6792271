package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aisoar/aisoar/evidence"
)

// Archive keeps reviews in the evidence store, under
// reviews/<incident>/<generated>.md and .html. Like evidence, a review is
// written once: each generation is a new pair named by its time, so a
// review that was read, signed off or sent on is never changed.
type Archive struct {
	backend evidence.Backend
}

// NewArchive keeps reviews in the backend of the evidence store.
func NewArchive(backend evidence.Backend) *Archive { return &Archive{backend: backend} }

// Stored is a review in the archive.
type Stored struct {
	// ID is "<incident>/<generated>", as the API addresses it.
	ID        string    `json:"id"`
	Incident  string    `json:"incident"`
	Generated time.Time `json:"generated"`
	// Markdown and HTML are the keys of the two renderings in the store.
	Markdown string `json:"markdown"`
	HTML     string `json:"html"`
	Location string `json:"location"`
}

const (
	prefix      = "reviews/"
	stampLayout = "20060102T150405.000Z"
	mdSuffix    = ".md"
	htmlSuffix  = ".html"
)

// ErrNotFound is a review the archive does not hold.
var ErrNotFound = errors.New("no such review")

// Save writes a review's two renderings; a review of the incident generated
// at the same millisecond is an evidence.ErrExists.
func (a *Archive) Save(ctx context.Context, incident string, generated time.Time, markdown, html []byte) (Stored, error) {
	s := a.stored(incident, generated.UTC().Truncate(time.Millisecond))
	if err := a.backend.Create(ctx, s.Markdown, bytes.NewReader(markdown)); err != nil {
		return Stored{}, fmt.Errorf("storing review %s: %w", s.ID, err)
	}
	if err := a.backend.Create(ctx, s.HTML, bytes.NewReader(html)); err != nil {
		return Stored{}, fmt.Errorf("storing review %s: %w", s.ID, err)
	}
	return s, nil
}

func (a *Archive) stored(incident string, generated time.Time) Stored {
	base := prefix + url.PathEscape(incident) + "/" + generated.Format(stampLayout)
	return Stored{ID: incident + "/" + generated.Format(stampLayout), Incident: incident, Generated: generated,
		Markdown: base + mdSuffix, HTML: base + htmlSuffix, Location: a.backend.Location()}
}

// List returns the stored reviews, of one incident when incident is set,
// oldest first.
func (a *Archive) List(ctx context.Context, incident string) ([]Stored, error) {
	p := prefix
	if incident != "" {
		p += url.PathEscape(incident) + "/"
	}
	keys, err := a.backend.List(ctx, p)
	if err != nil {
		return nil, err
	}
	list := []Stored{}
	for _, k := range keys {
		base, ok := strings.CutSuffix(k, mdSuffix)
		if !ok || !slices.Contains(keys, base+htmlSuffix) {
			continue // an HTML without its Markdown is a save that failed half-way
		}
		dir, name, _ := strings.Cut(strings.TrimPrefix(base, prefix), "/")
		inc, err := url.PathUnescape(dir)
		generated, perr := time.Parse(stampLayout, name)
		if err != nil || perr != nil {
			continue // not written by Save
		}
		list = append(list, a.stored(inc, generated))
	}
	slices.SortFunc(list, func(x, y Stored) int { return x.Generated.Compare(y.Generated) })
	return list, nil
}

// Get returns a stored review and its two renderings by its ID.
func (a *Archive) Get(ctx context.Context, id string) (Stored, []byte, []byte, error) {
	cut := strings.LastIndex(id, "/")
	if cut < 0 {
		return Stored{}, nil, nil, fmt.Errorf("%w: %q is not <incident>/<generated>", ErrNotFound, id)
	}
	generated, err := time.Parse(stampLayout, id[cut+1:])
	if err != nil {
		return Stored{}, nil, nil, fmt.Errorf("%w: %q does not end in a generation time like 20250601T120000.000Z", ErrNotFound, id)
	}
	s := a.stored(id[:cut], generated)
	markdown, err := a.read(ctx, s.Markdown)
	if err != nil {
		return Stored{}, nil, nil, err
	}
	html, err := a.read(ctx, s.HTML)
	if err != nil {
		return Stored{}, nil, nil, err
	}
	return s, markdown, html, nil
}

func (a *Archive) read(ctx context.Context, key string) ([]byte, error) {
	r, err := a.backend.Open(ctx, key)
	if evidence.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s is not in %s", ErrNotFound, key, a.backend.Location())
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
