package report

import (
	"maps"
	"slices"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/workflows"
)

// DefineIntegritySLA is the integrity SLA's definition.
const DefineIntegritySLA = "Integrity SLA: days in compliance, over the whole UTC days of the window since the ledger's " +
	"first day (days before aisoar kept a ledger are not measured). A model (one with an " +
	"artifact digest or signature, which the daily re-attestation checks) is in compliance on a day when the ledger " +
	"holds a verified verdict for it that day and no worse one: a mismatch, unsigned or error verdict that day, or no " +
	"verdict at all (missing: re-attestation did not run or did not record), breaks it; a model with a digest and no " +
	"signature has only its digest checked, so its unsigned verdict (the digest matched) counts as verified. Models without a digest or " +
	"signature cannot be re-attested; they are listed, out of the SLA (asset visibility counts them). A data source is " +
	"in compliance on a day unless it delivered that day (an alert naming its pipeline, or a heartbeat naming it) " +
	"without approval: no approved_by/approved_at, an approval dated after that day, or a source the inventory does " +
	"not list. Overall, a day is in compliance when every model and every data source is."

// Integrity is the integrity SLA overall, per model and per data source.
type Integrity struct {
	Definition string `json:"definition"`
	// FirstDay and LastDay are the whole days counted.
	FirstDay string `json:"first_day,omitempty"`
	LastDay  string `json:"last_day,omitempty"`
	// Overall counts the days on which every model and every data
	// source was in compliance; Models and DataSources the days on which
	// every model, or every data source, was.
	Overall     Fraction          `json:"overall"`
	Models      Fraction          `json:"models"`
	DataSources Fraction          `json:"data_sources"`
	PerModel    []ModelIntegrity  `json:"per_model"`
	PerSource   []SourceIntegrity `json:"per_source"`
}

// ModelIntegrity is one model's days in compliance.
type ModelIntegrity struct {
	Model string `json:"model"`
	// Attested is false for a model with neither digest nor signature:
	// it is out of the SLA.
	Attested  bool     `json:"attested"`
	Compliant Fraction `json:"compliant"`
	// Days by the day's verdict (the worst of the day); Missing are days
	// without one.
	Verified int `json:"verified"`
	Mismatch int `json:"mismatch"`
	Unsigned int `json:"unsigned"`
	Error    int `json:"error"`
	Missing  int `json:"missing"`
	// Failures are the days out of compliance that have a verdict.
	Failures []DayVerdict `json:"failures"`
}

// DayVerdict is a model's verdict on a day.
type DayVerdict struct {
	Day string `json:"day"`
	workflows.Verdict
}

// SourceIntegrity is one data source's days in compliance.
type SourceIntegrity struct {
	Pipeline   string `json:"pipeline"`
	Source     string `json:"source"`
	ApprovedBy string `json:"approved_by,omitempty"`
	ApprovedAt string `json:"approved_at,omitempty"`
	// InInventory is false for a source the ledger saw deliver that the
	// inventory does not list.
	InInventory bool     `json:"in_inventory"`
	Compliant   Fraction `json:"compliant"`
	// DeliveryDays counts the days it delivered; Unapproved lists those
	// it delivered without approval.
	DeliveryDays int      `json:"delivery_days"`
	Unapproved   []string `json:"unapproved"`
}

func integrity(in Input, models []assets.Model) Integrity {
	ds := measuredDays(in)
	g := Integrity{Definition: DefineIntegritySLA, PerModel: []ModelIntegrity{}, PerSource: []SourceIntegrity{}}
	if len(ds) > 0 {
		g.FirstDay, g.LastDay = ds[0], ds[len(ds)-1]
	}
	modelsOK := make([]bool, len(ds))
	sourcesOK := make([]bool, len(ds))
	for i := range ds {
		modelsOK[i], sourcesOK[i] = true, true
	}
	for _, m := range models {
		mi := ModelIntegrity{Model: m.Name, Attested: m.Artifact.Digest != "" || m.Artifact.Signature != "", Failures: []DayVerdict{}}
		if !mi.Attested {
			g.PerModel = append(g.PerModel, mi)
			continue
		}
		compliant := 0
		for i, day := range ds {
			v, ok := in.Ledger.Get(day).Verdicts[m.Name]
			switch {
			case !ok:
				mi.Missing++
			case v.Verdict == activities.VerdictVerified:
				mi.Verified++
			case v.Verdict == activities.VerdictMismatch:
				mi.Mismatch++
			case v.Verdict == activities.VerdictUnsigned:
				mi.Unsigned++
			default:
				mi.Error++
			}
			switch {
			case ok && (v.Verdict == activities.VerdictVerified || (v.Verdict == activities.VerdictUnsigned && m.Artifact.Signature == "")):
				compliant++
			case ok:
				mi.Failures = append(mi.Failures, DayVerdict{Day: day, Verdict: v})
				modelsOK[i] = false
			default:
				modelsOK[i] = false
			}
		}
		mi.Compliant = fraction(compliant, len(ds))
		g.PerModel = append(g.PerModel, mi)
	}
	for _, src := range dataSources(in) {
		for i, day := range ds {
			if in.Ledger.Get(day).Deliveries[workflows.DeliveryKey(src.Pipeline, src.Source)] == 0 {
				continue
			}
			src.DeliveryDays++
			if !approvedBy(src, day) {
				src.Unapproved = append(src.Unapproved, day)
				sourcesOK[i] = false
			}
		}
		src.Compliant = fraction(len(ds)-len(src.Unapproved), len(ds))
		g.PerSource = append(g.PerSource, src)
	}
	overall, modelDays, sourceDays := 0, 0, 0
	for i := range ds {
		if modelsOK[i] {
			modelDays++
		}
		if sourcesOK[i] {
			sourceDays++
		}
		if modelsOK[i] && sourcesOK[i] {
			overall++
		}
	}
	g.Overall, g.Models, g.DataSources = fraction(overall, len(ds)), fraction(modelDays, len(ds)), fraction(sourceDays, len(ds))
	return g
}

// measuredDays are the window's days from the ledger's first day on: the
// days aisoar could have re-attested and seen deliveries.
func measuredDays(in Input) []string {
	if len(in.Ledger.Days) == 0 {
		return nil
	}
	first := in.Ledger.Days[0].Day
	return slices.DeleteFunc(days(in.Since, in.Until), func(day string) bool { return day < first })
}

// dataSources are the inventory's data sources, by pipeline then source,
// then those the ledger saw deliver in the window that it does not list.
func dataSources(in Input) []SourceIntegrity {
	var out []SourceIntegrity
	listed := map[string]bool{}
	if inv := in.Inventory; inv != nil {
		for _, p := range slices.Sorted(maps.Keys(inv.Pipelines)) {
			for _, s := range inv.Pipelines[p].Sources {
				out = append(out, SourceIntegrity{Pipeline: p, Source: s.Name, ApprovedBy: s.ApprovedBy, ApprovedAt: s.ApprovedAt,
					InInventory: true, Unapproved: []string{}})
				listed[workflows.DeliveryKey(p, s.Name)] = true
			}
		}
	}
	var unknown []string
	for _, d := range in.Ledger.Range(workflows.LedgerRange{From: workflows.Day(in.Since), To: lastDay(in.Until)}).Days {
		for key := range d.Deliveries {
			if !listed[key] && !slices.Contains(unknown, key) {
				unknown = append(unknown, key)
			}
		}
	}
	slices.Sort(unknown)
	for _, key := range unknown {
		p, s := workflows.SplitDeliveryKey(key)
		out = append(out, SourceIntegrity{Pipeline: p, Source: s, Unapproved: []string{}})
	}
	return out
}

// approvedBy reports whether the source was approved on or before day.
func approvedBy(src SourceIntegrity, day string) bool {
	if src.ApprovedBy == "" || src.ApprovedAt == "" {
		return false
	}
	at, err := assets.ParseTime(src.ApprovedAt)
	return err == nil && workflows.Day(at) <= day
}
