package diag

import "testing"

func TestSuggest(t *testing.T) {
	candidates := []string{"title", "sources", "severity", "http", "notify", "PATCH", "escalate"}
	tests := []struct{ word, want string }{
		{"titel", "title"},
		{"sevrity", "severity"},
		{"htp", "http"},
		{"escalte", "escalate"},
		{"FETCH", ""},
		{"zz", ""},
		{"title", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, candidates); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
