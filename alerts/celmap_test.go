package alerts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCELMappingApply(t *testing.T) {
	body := []byte(`{"rule": {"name": "LLM extraction burst", "level": 12}, "agent": {"model": "fraud-scorer"},
		"ts": "2026-11-25T10:00:00Z", "tags": ["AML.T0024", "gateway"], "meta": {"team": "ml", "zone": 3}}`)
	m, err := NewCELMapping(map[string]string{
		"category":    `payload.rule.name.contains("extraction") ? "model_extraction" : "other"`,
		"severity":    `payload.rule.level >= 12 ? "critical" : "low"`,
		"asset.model": `payload.agent.model`,
		"time":        `timestamp(payload.ts)`,
		"techniques":  `payload.tags.filter(t, t.startsWith("AML."))`,
		"labels":      `payload.meta`,
		"title":       `alert.rule + " on " + payload.agent.model`,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{Rule: "r-1", Raw: body}
	if err := m.Apply(&a); err != nil {
		t.Fatal(err)
	}
	want := Alert{
		Rule: "r-1", Raw: body, Category: "model_extraction", Severity: 5, Asset: Asset{Model: "fraud-scorer"},
		Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Techniques: []string{"AML.T0024"},
		Labels: map[string]string{"team": "ml", "zone": "3"}, Title: "r-1 on fraud-scorer",
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
}

func TestCELMappingErrors(t *testing.T) {
	_, err := NewCELMapping(map[string]string{
		"category": `payload.rule.name.contains(`,
		"owner":    `"x"`,
	})
	for _, want := range []string{`category: 1:28: Syntax error`, `(in "payload.rule.name.contains(")`, `owner: not an alert field`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	m, err := NewCELMapping(map[string]string{"asset.model": `payload.missing`, "title": `payload.n`})
	if err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	err = m.Apply(&Alert{Raw: []byte(`{"n": 1}`)})
	if !errors.As(err, &fe) || fe.Field != "asset.model" || !strings.Contains(err.Error(), "no such key") {
		t.Errorf("missing payload key: %v, want a FieldError on asset.model", err)
	}
	m, _ = NewCELMapping(map[string]string{"title": `payload.n`})
	if err := m.Apply(&Alert{Raw: []byte(`{"n": 1}`)}); !errors.As(err, &fe) || !strings.Contains(err.Error(), "want a string") {
		t.Errorf("wrong type: %v, want a FieldError saying a string is wanted", err)
	}
}
