// Package alerts defines the normalized Alert that every SIEM payload is
// decoded into, the decoders that do it, and the fingerprint used to fold
// repeated alerts into one incident.
package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Status says whether the detection is still firing or has cleared.
type Status string

const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Severity is the one scale every source is mapped onto: 1 (info) to 5 (critical).
type Severity int

const (
	SeverityInfo     Severity = 1
	SeverityLow      Severity = 2
	SeverityMedium   Severity = 3
	SeverityHigh     Severity = 4
	SeverityCritical Severity = 5
)

// Asset names the AI system an alert is about. Any field may be empty.
type Asset struct {
	Model    string `json:"model"`
	Endpoint string `json:"endpoint"`
	Pipeline string `json:"pipeline"`
	Tenant   string `json:"tenant"`
	KeyID    string `json:"key_id"`
}

// Alert is a SIEM detection after decoding. Its json names are also the
// field names playbook conditions use (alert.severity, alert.asset.model).
type Alert struct {
	// ID is the sender's id for this alert; a redelivery carries the same id.
	ID     string `json:"id"`
	Source string `json:"source"`
	// Rule is the detection rule or search that fired.
	Rule     string `json:"rule"`
	Title    string `json:"title"`
	Severity int64  `json:"severity"`
	Status   string `json:"status"`
	// Time is when the detection happened, as the sender says; Received is
	// when aisoar accepted the alert.
	Time     time.Time `json:"time"`
	Received time.Time `json:"received"`
	Category string    `json:"category"`
	// Techniques are MITRE ATLAS technique ids, such as AML.T0024.
	Techniques []string          `json:"techniques"`
	Asset      Asset             `json:"asset"`
	Labels     map[string]string `json:"labels"`
	// GroupKey, when the sender has one, groups alerts beyond rule and asset.
	GroupKey string `json:"group_key"`
	// Raw is the payload exactly as received, kept for evidence.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Fingerprint identifies the incident an alert belongs to: the same source,
// rule, asset and grouping key give the same fingerprint, so a repeated alert
// reaches the incident that is already open. It is 16 hex digits.
func (a *Alert) Fingerprint() string {
	parts := []string{
		a.Source, a.Rule, a.GroupKey,
		a.Asset.Model, a.Asset.Endpoint, a.Asset.Pipeline, a.Asset.Tenant, a.Asset.KeyID,
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}
