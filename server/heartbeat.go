package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/workflows"
)

// heartbeatRequest is the body of POST /v1/heartbeats/{source}: a
// detection's sign of life for the inventory assets it watches, and a data
// source's notice that it delivered.
type heartbeatRequest struct {
	Assets struct {
		Model      string `json:"model"`
		Pipeline   string `json:"pipeline"`
		DataSource string `json:"data_source"`
	} `json:"assets"`
	// Rule and Techniques say which detection is alive; they are logged
	// and answered, and coverage counts per asset.
	Rule       string   `json:"rule"`
	Techniques []string `json:"techniques"`
}

// heartbeatReceipt says what the ledger recorded.
type heartbeatReceipt struct {
	Day        string   `json:"day"`
	Heartbeats []string `json:"heartbeats"`
	Deliveries []string `json:"deliveries"`
	Rule       string   `json:"rule,omitempty"`
	Techniques []string `json:"techniques,omitempty"`
}

// receiveHeartbeat records a detection heartbeat in the governance ledger.
// It is admitted as the source's alerts are: rate limit, signature, replay. It answers 202
// once the ledger has it; 422 when it names nothing the inventory knows.
func (s *Server) receiveHeartbeat(w http.ResponseWriter, r *http.Request) {
	admitted, ok := s.admit(w, r, "heartbeat", func(string, string) {})
	if !ok {
		return
	}
	name := admitted.name
	var req heartbeatRequest
	if err := decodeStrict(admitted.body, &req); err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "the body is not a heartbeat: " + err.Error()})
		return
	}
	day, p := s.heartbeatDay(&req)
	if p != nil {
		writeProblem(w, *p)
		return
	}
	if err := s.signalLedger(r.Context(), day); err != nil {
		s.writeTemporalError(w, "recording the heartbeat", err)
		return
	}
	s.handled("heartbeat", admitted)
	s.logger.Info("detection heartbeat", "source", name, "rule", req.Rule, "techniques", req.Techniques, "day", day.Day)
	writeJSON(w, http.StatusAccepted, heartbeatReceipt{Day: day.Day, Heartbeats: sortedNames(day.Heartbeats),
		Deliveries: sortedNames(day.Deliveries), Rule: req.Rule, Techniques: req.Techniques})
}

// heartbeatDay resolves a heartbeat's assets against the inventory: the
// model and pipeline it names get a heartbeat; the data source it names
// delivered, under the pipeline named, or under every pipeline that lists
// a source of that name. A data source the named pipeline does not list
// is recorded all the same: it delivered without approval.
func (s *Server) heartbeatDay(req *heartbeatRequest) (workflows.LedgerDay, *problem) {
	d := workflows.LedgerDay{Day: workflows.Day(s.now()), Heartbeats: map[string]int{}, Deliveries: map[string]int{}}
	a := req.Assets
	unprocessable := func(field, format string, args ...any) *problem {
		return &problem{Status: http.StatusUnprocessableEntity, Field: field, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case a.Model == "" && a.Pipeline == "" && a.DataSource == "":
		return d, unprocessable("assets", "name the model, pipeline or data_source the heartbeat is for")
	case s.assets == nil:
		return d, unprocessable("assets", "aisoar has no asset inventory (assets in the config): heartbeats name inventory assets")
	}
	m := s.assets.Match(&alerts.Asset{Model: a.Model, Pipeline: a.Pipeline})
	if a.Model != "" && m.Model.Name == "" {
		return d, unprocessable("assets.model", "model %q is not in the asset inventory", a.Model)
	}
	if a.Pipeline != "" && m.Pipeline.Name == "" {
		return d, unprocessable("assets.pipeline", "pipeline %q is not in the asset inventory", a.Pipeline)
	}
	for _, name := range []string{m.Model.Name, m.Pipeline.Name} {
		if name != "" {
			d.Heartbeats[name]++
		}
	}
	if a.DataSource == "" {
		return d, nil
	}
	if m.Pipeline.Name != "" {
		d.Deliveries[workflows.DeliveryKey(m.Pipeline.Name, a.DataSource)]++
		return d, nil
	}
	for name, p := range s.assets.Pipelines {
		if slices.ContainsFunc(p.Sources, func(src assets.Source) bool { return src.Name == a.DataSource }) {
			d.Deliveries[workflows.DeliveryKey(name, a.DataSource)]++
		}
	}
	if len(d.Deliveries) == 0 {
		return d, unprocessable("assets.data_source", "no pipeline of the asset inventory lists data source %q; name its pipeline (assets.pipeline) to record it as unapproved", a.DataSource)
	}
	return d, nil
}

func sortedNames(m map[string]int) []string {
	return append([]string{}, slices.Sorted(maps.Keys(m))...)
}

// decodeStrict decodes JSON that must hold only the fields of v.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
