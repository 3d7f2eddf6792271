package diag

// Suggest returns the candidate closest to word, or "" when none is close
// enough to be the likely intent: one edit away for short words, two for
// longer ones.
func Suggest(word string, candidates []string) string {
	limit := 1
	if len(word) > 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist && c != word {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean formats a suggestion as a message suffix.
func DidYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return " (did you mean \"" + s + "\"?)"
	}
	return ""
}

// editDistance counts the insertions, deletions, substitutions and
// transpositions of adjacent bytes that turn a into b (optimal string
// alignment distance), so "titel" is one edit from "title".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
