package doubletest

import (
	"encoding/json"
	"net/http"
)

// WriteJSON answers status with v encoded as JSON, as
// "application/json" unless the double set another Content-Type.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
