package playbooks

import (
	"fmt"
	"strings"
	"time"
)

// Parameter strings may embed CEL as ${{ expr }}.
const (
	templateOpen  = "${{"
	templateClose = "}}"
)

// segment is a piece of a parameter string: literal text, or an expression
// whose source starts at offset in the string.
type segment struct {
	text   string
	isExpr bool
	offset int
}

// splitTemplate cuts s into literal and ${{ }} segments. The error names
// the offset of an unclosed ${{.
func splitTemplate(s string) ([]segment, int, error) {
	var segs []segment
	pos := 0
	for {
		open := strings.Index(s[pos:], templateOpen)
		if open < 0 {
			if pos < len(s) {
				segs = append(segs, segment{text: s[pos:], offset: pos})
			}
			return segs, 0, nil
		}
		open += pos
		if open > pos {
			segs = append(segs, segment{text: s[pos:open], offset: pos})
		}
		start := open + len(templateOpen)
		end := strings.Index(s[start:], templateClose)
		if end < 0 {
			return nil, open, fmt.Errorf("%s is not closed with %s", templateOpen, templateClose)
		}
		raw := s[start : start+end]
		trimmed := strings.TrimLeft(raw, " \t")
		segs = append(segs, segment{
			text:   strings.TrimSpace(raw),
			isExpr: true,
			offset: start + len(raw) - len(trimmed),
		})
		pos = start + end + len(templateClose)
	}
}

// isTemplate reports whether s holds at least one ${{ }} expression.
func isTemplate(s string) bool { return strings.Contains(s, templateOpen) }

// wholeExpr returns the expression when s is exactly one ${{ }} and nothing
// else; such a parameter keeps the expression's type (a number stays a number).
func wholeExpr(segs []segment) (string, bool) {
	if len(segs) == 1 && segs[0].isExpr {
		return segs[0].text, true
	}
	return "", false
}

// formatValue renders an expression's value inside a larger string.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
