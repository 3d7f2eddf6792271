package playbooktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aisoar/aisoar/workflows"
)

// compare checks the final status and the calls against the expectations,
// returning one message per mismatch.
func (r *runner) compare(status *workflows.Status) []string {
	if status == nil {
		if len(r.problems) > 0 {
			return nil // they say why
		}
		return []string{"the incident never reported a status"}
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	e := r.sc.Expect
	byID := map[string]*workflows.StepStatus{}
	for _, st := range allSteps(status) {
		byID[st.ID] = st
	}

	if e.State != "" && status.State != e.State {
		detail := ""
		if f := status.Failure; f != nil {
			detail = fmt.Sprintf(" (step %q failed: %s)", f.Step, f.Error)
		}
		add("state: want %s, got %s%s", e.State, status.State, detail)
	}
	if e.FailureStep != "" {
		switch f := status.Failure; {
		case f == nil:
			add("failure_step: want %s, got none (the playbook did not fail)", e.FailureStep)
		case f.Step != e.FailureStep:
			add("failure_step: want %s, got %s (%s)", e.FailureStep, f.Step, f.Error)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(e.Steps)) {
		want, st := e.Steps[id], byID[id]
		switch {
		case st == nil:
			add("step %q: want %s, got not run", id, want)
		case st.State != want:
			add("step %q: want %s, got %s%s", id, want, st.State, stepDetail(st))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(e.Calls)) {
		calls := r.calls[id]
		if len(calls) == 0 {
			add("call %q: want a call, got none%s", id, notRunDetail(byID[id]))
			continue
		}
		got := normalize(calls[len(calls)-1].Params)
		for _, m := range subset("", normalize(e.Calls[id]), got) {
			add("call %q: %s", id, m)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(e.Attempts)) {
		if want, got := e.Attempts[id], len(r.calls[id]); want != got {
			add("attempts %q: want %d, got %d", id, want, got)
		}
	}
	for _, id := range e.NotCalled {
		if calls := r.calls[id]; len(calls) > 0 {
			add("not_called %q: want no call, got %d (the last with %s)", id, len(calls), format(normalize(calls[len(calls)-1].Params)))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.sc.Approvals)) {
		if !r.waited[id] {
			add("approvals.%s: the step never waited for a decision%s", id, notRunDetail(byID[id]))
		}
	}
	return out
}

// stepDetail says why a step ended as it did.
func stepDetail(st *workflows.StepStatus) string {
	switch {
	case st.State == workflows.StepRejected:
		return " (approval: " + st.Reason + ")"
	case st.Error != "":
		return " (error: " + st.Error + ")"
	case st.Reason != "":
		return " (" + st.Reason + ")"
	case st.State == workflows.StepWaiting && st.Approval != nil:
		return fmt.Sprintf(" (for role %s)", st.Approval.Role)
	}
	return ""
}

// notRunDetail says, for a step that was not called, what became of it.
func notRunDetail(st *workflows.StepStatus) string {
	if st == nil {
		return ": the step did not run"
	}
	return ": the step is " + st.State + stepDetail(st)
}

// normalize passes v through JSON, as the workflow passes parameters, so
// that 10 and 10.0 compare equal.
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return v
	}
	return out
}

// subset compares want with got: mappings key by key for the keys want
// gives, anything else whole.
func subset(path string, want, got any) []string {
	wantMap, isMap := want.(map[string]any)
	gotMap, gotIsMap := got.(map[string]any)
	if !isMap || !gotIsMap {
		if reflect.DeepEqual(want, got) {
			return nil
		}
		return []string{fmt.Sprintf("param %s: want %s, got %s", path, format(want), format(got))}
	}
	var out []string
	keys := slices.Sorted(maps.Keys(wantMap))
	for _, k := range keys {
		p := k
		if path != "" {
			p = path + "." + k
		}
		g, ok := gotMap[k]
		if !ok {
			out = append(out, fmt.Sprintf("param %s: want %s, got nothing (the call has %s)", p, format(wantMap[k]), keyList(gotMap)))
			continue
		}
		out = append(out, subset(p, wantMap[k], g)...)
	}
	return out
}

func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "no parameters"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// format writes a value as JSON.
func format(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
