package playbooktest

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report writes the scenario's line, PASS or FAIL, with one indented line
// per mismatch; verbose adds each step's final state.
func (r *Result) Report(w io.Writer, verbose bool) {
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s  %s / %s\n", verdict, r.Playbook, r.Scenario)
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(m, "\n", "\n      "))
	}
	if !verbose || r.Status == nil {
		return
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "incident\t%s\t\n", r.Status.State)
	for _, st := range allSteps(r.Status) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.ID, st.State, strings.TrimPrefix(stepDetail(st), " "))
	}
	tw.Flush()
	for line := range strings.Lines(table.String()) {
		fmt.Fprintf(w, "      %s\n", strings.TrimRight(line, " \n"))
	}
}
