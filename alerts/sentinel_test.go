package alerts

import (
	"fmt"
	"testing"
	"time"
)

func TestSentinelDecode(t *testing.T) {
	checkGoldenDir(t, NewSentinel("sentinel"), "sentinel")
}

// TestSentinelClosedSameIncident checks that closing a Sentinel incident
// gives an alert with the id and fingerprint of the active one, so that it
// reaches the same aisoar incident.
func TestSentinelClosedSameIncident(t *testing.T) {
	d := NewSentinel("sentinel")
	active := decodeFile(t, d, "sentinel", "incident")[0]
	closed := decodeFile(t, d, "sentinel", "closed")[0]
	checkSameEpisode(t, active, closed)
}

func TestSentinelDecodeErrors(t *testing.T) {
	checkRefused(t, NewSentinel("sentinel"), []refusedBody{
		{name: "not json", body: `<incident/>`, wantIs: ErrNotObject},
		{name: "array", body: `[{"name":"x"}]`, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: got array`},
		{name: "name object", body: `{"name":{"guid":"x"},"properties":{}}`, wantField: "name"},
		{name: "id list", body: `{"id":["x"],"properties":{}}`, wantField: "id"},
		{name: "properties string", body: `{"properties":"x"}`, wantField: "properties.title",
			wantMsg: `field "properties.title": "properties" is a string, not an object`},
		{name: "properties list", body: `{"name":"x","properties":[]}`, wantField: "properties.title"},
		{name: "title object", body: `{"properties":{"title":{}}}`, wantField: "properties.title"},
		{name: "unknown severity", body: `{"properties":{"severity":"Sev1"}}`, wantField: "properties.severity",
			wantIs: ErrUnknownSeverity},
		{name: "severity boolean", body: `{"properties":{"severity":true}}`, wantField: "properties.severity"},
		{name: "status object", body: `{"properties":{"status":{"value":"Closed"}}}`, wantField: "properties.status"},
		{name: "created time word", body: `{"properties":{"createdTimeUtc":"today"}}`, wantField: "properties.createdTimeUtc"},
		{name: "labels string", body: `{"properties":{"labels":"AI"}}`, wantField: "properties.labels",
			wantMsg: `field "properties.labels": want a list of labels, got string`},
		{name: "label number", body: `{"properties":{"labels":[{"labelName":"AI"},7]}}`, wantField: "properties.labels[1]"},
		{name: "label name number", body: `{"properties":{"labels":[{"labelName":7}]}}`, wantField: "properties.labels[0].labelName"},
		{name: "techniques number", body: `{"properties":{"additionalData":{"techniques":1190}}}`,
			wantField: "properties.additionalData.techniques"},
		{name: "tactics list of objects", body: `{"properties":{"additionalData":{"tactics":[{"name":"Exfiltration"}]}}}`,
			wantField: "properties.additionalData.tactics"},
		{name: "trigger object string", body: `{"objectSchemaType":"Incident","object":"x"}`, wantField: "object",
			wantMsg: `field "object": want the incident (an object), got string`},
		{name: "trigger incident field", body: `{"object":{"properties":{"severity":"Sev1"}}}`,
			wantField: "object.properties.severity", wantIs: ErrUnknownSeverity},
		{name: "trigger event type object", body: `{"object":{},"objectEventType":{}}`, wantField: "objectEventType"},
	})
}

func TestSentinelSeverityAndStatus(t *testing.T) {
	tests := []struct {
		severity, status string
		want             int64
		wantStatus       string
	}{
		{"Informational", "New", 1, "firing"},
		{"Low", "Active", 2, "firing"},
		{"Medium", "Active", 3, "firing"},
		{"High", "Closed", 4, "resolved"},
		{"high", "closed", 4, "resolved"},
		{"", "", 0, "firing"},
	}
	for _, tt := range tests {
		t.Run(tt.severity+"/"+tt.status, func(t *testing.T) {
			body := fmt.Sprintf(`{"properties":{"severity":%q,"status":%q}}`, tt.severity, tt.status)
			a := decodeOne(t, NewSentinel("sentinel"), body)
			wantEq(t, "Severity", a.Severity, tt.want)
			wantEq(t, "Status", a.Status, tt.wantStatus)
		})
	}
}

func TestSentinelDecodeFields(t *testing.T) {
	tests := []decodedCase{
		{name: "name is id and group key", body: `{"id":"/x/Incidents/from-id","name":"from-name"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, "from-name")
				wantEq(t, "GroupKey", a.GroupKey, "from-name")
			}},
		{name: "id's last segment without a name", body: `{"id":"/subscriptions/s/providers/Microsoft.SecurityInsights/Incidents/guid-1/"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "guid-1") }},
		{name: "id that is not a path", body: `{"id":"3178"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "3178") }},
		{name: "no id derives one and leaves the group key empty", body: `{"properties":{"title":"t"}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, derivedID([]byte(`{"properties":{"title":"t"}}`)))
				wantEq(t, "GroupKey", a.GroupKey, "")
			}},
		{name: "title is rule and title", body: `{"properties":{"title":"Jailbreak burst"}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "Jailbreak burst")
				wantEq(t, "Title", a.Title, "Jailbreak burst")
			}},
		{name: "first activity without a created time", body: `{"properties":{"firstActivityTimeUtc":"2026-03-14T09:02:11.5Z"}}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Date(2026, 3, 14, 9, 2, 11, 5e8, time.UTC)) }},
		{name: "created time before first activity", body: `{"properties":{"firstActivityTimeUtc":"2026-03-14T09:00:00Z","createdTimeUtc":"2026-03-14T09:26:53.6231957Z"}}`,
			check: func(t *testing.T, a Alert) {
				wantTime(t, a.Time, time.Date(2026, 3, 14, 9, 26, 53, 623195700, time.UTC))
			}},
		{name: "labels become tags, name:value a label", body: `{"properties":{"labels":[{"labelName":"AI","labelType":"User"},"AML.T0051",null,{"labelType":"User"},{"labelName":"tenant:acme"}]}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"tag.AI": "true", "tag.AML.T0051": "true", "tag.tenant:acme": "true", "tenant": "acme"})
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0051"})
				wantEq(t, "Asset.Tenant", a.Asset.Tenant, "acme")
			}},
		{name: "tactics and techniques", body: `{"properties":{"additionalData":{"alertsCount":2,"tactics":["InitialAccess","Exfiltration"],"techniques":["T1190","AML.T0024"]}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"additionalData.alertsCount": "2",
					"mitre.tactics":              "Exfiltration,InitialAccess",
					"mitre.techniques":           "T1190",
				})
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024"})
			}},
		{name: "properties become labels", body: `{"properties":{"incidentNumber":3178,"owner":{"assignedTo":"SOC","email":null},"relatedAnalyticRuleIds":["r1","r2"],"Alerts":[{"id":"a"}]}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"incidentNumber": "3178", "owner.assignedTo": "SOC", "relatedAnalyticRuleIds": "r1,r2"})
			}},
		{name: "trigger body", body: `{"objectEventType":"Update","workspaceInfo":{"WorkspaceName":"soc"},"object":{"name":"g","properties":{"status":"Closed"}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, "g")
				wantEq(t, "Status", a.Status, "resolved")
				wantEq(t, "Labels", a.Labels, map[string]string{"status": "Closed", "objectEventType": "Update", "workspaceInfo.WorkspaceName": "soc"})
			}},
		{name: "a resource with properties is not a trigger body", body: `{"name":"g","properties":{},"object":"x"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "g") }},
	}
	checkDecoded(t, NewSentinel("sentinel"), tests)
}

func FuzzSentinelDecode(f *testing.F) {
	fuzzDecoder(f, NewSentinel("sentinel"), "sentinel", "sentinel", fuzzOptions{seeds: []string{
		`{"object":{"id":"/a/b/","properties":{"labels":["x:y",{"labelName":"AML.T0024"}]}}}`,
	}})
}
