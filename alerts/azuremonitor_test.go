package alerts

import (
	"fmt"
	"testing"
	"time"
)

func TestAzureMonitorDecode(t *testing.T) {
	checkGoldenDir(t, NewAzureMonitor("azure"), "azuremonitor")
}

// TestAzureMonitorResolvedSameAlert checks that a Resolved notification has
// the id and fingerprint of the Fired one.
func TestAzureMonitorResolvedSameAlert(t *testing.T) {
	d := NewAzureMonitor("azure")
	fired := decodeFile(t, d, "azuremonitor", "log_search_fired")[0]
	resolved := decodeFile(t, d, "azuremonitor", "log_search_resolved")[0]
	checkSameEpisode(t, fired, resolved)
	wantEq(t, "Time", resolved.Time, fired.Time)
	wantEq(t, "resolvedDateTime", resolved.Labels["resolvedDateTime"], "2026-03-14T10:11:58.0417526Z")
}

func TestAzureMonitorDecodeErrors(t *testing.T) {
	checkRefused(t, NewAzureMonitor("azure"), []refusedBody{
		{name: "not json", body: `schemaId=azureMonitorCommonAlertSchema`, wantIs: ErrNotObject},
		{name: "array", body: `[{"schemaId":"azureMonitorCommonAlertSchema"}]`, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: got array`},
		{name: "other schema", body: `{"schemaId":"AzureMonitorMetricAlert","data":{}}`, wantField: "schemaId",
			wantMsg: `field "schemaId": "AzureMonitorMetricAlert" is not the common alert schema (want "azureMonitorCommonAlertSchema": turn on the common alert schema in the action group)`},
		{name: "data string", body: `{"data":"x"}`, wantField: "data.essentials.alertId"},
		{name: "essentials list", body: `{"data":{"essentials":[]}}`, wantField: "data.essentials.alertId"},
		{name: "alert id object", body: `{"data":{"essentials":{"alertId":{}}}}`, wantField: "data.essentials.alertId"},
		{name: "severity Sev5", body: `{"data":{"essentials":{"severity":"Sev5"}}}`, wantField: "data.essentials.severity",
			wantIs: ErrUnknownSeverity, wantMsg: `field "data.essentials.severity": not a known severity: "Sev5" (want Sev0-Sev4)`},
		{name: "severity word", body: `{"data":{"essentials":{"severity":"critical"}}}`, wantField: "data.essentials.severity",
			wantIs: ErrUnknownSeverity},
		{name: "severity number 5", body: `{"data":{"essentials":{"severity":5}}}`, wantField: "data.essentials.severity"},
		{name: "severity boolean", body: `{"data":{"essentials":{"severity":true}}}`, wantField: "data.essentials.severity"},
		{name: "fired time word", body: `{"data":{"essentials":{"firedDateTime":"soon"}}}`, wantField: "data.essentials.firedDateTime"},
		{name: "condition object", body: `{"data":{"alertContext":{"condition":{"allOf":{}}}}}`,
			wantField: "data.alertContext.condition.allOf"},
		{name: "criterion string", body: `{"data":{"alertContext":{"condition":{"allOf":["x"]}}}}`,
			wantField: "data.alertContext.condition.allOf[0]"},
		{name: "dimensions object", body: `{"data":{"alertContext":{"condition":{"allOf":[{"dimensions":{"name":"a"}}]}}}}`,
			wantField: "data.alertContext.condition.allOf[0].dimensions"},
		{name: "dimension string", body: `{"data":{"alertContext":{"condition":{"allOf":[{},{"dimensions":["a=b"]}]}}}}`,
			wantField: "data.alertContext.condition.allOf[1].dimensions[0]"},
		{name: "dimension name number", body: `{"data":{"alertContext":{"condition":{"allOf":[{"dimensions":[{"name":1,"value":"v"}]}]}}}}`,
			wantField: "data.alertContext.condition.allOf[0].dimensions[0].name"},
		{name: "custom properties list", body: `{"data":{"customProperties":["a"]}}`, wantField: "data.customProperties",
			wantMsg: `field "data.customProperties": want an object, got array`},
		{name: "rule properties string", body: `{"data":{"alertContext":{"properties":"x"}}}`, wantField: "data.alertContext.properties"},
	})
}

func TestAzureMonitorSeverityAndStatus(t *testing.T) {
	tests := []struct {
		severity  string // JSON
		condition string
		want      int64
		wantState string
	}{
		{`"Sev0"`, "Fired", 5, "firing"},
		{`"Sev1"`, "Fired", 4, "firing"},
		{`"Sev2"`, "Resolved", 3, "resolved"},
		{`"Sev3"`, "resolved", 2, "resolved"},
		{`"Sev4"`, "", 1, "firing"},
		{`"sev2"`, "Fired", 3, "firing"},
		{`"0"`, "Fired", 5, "firing"},
		{`3`, "Fired", 2, "firing"},
		{`""`, "Fired", 0, "firing"},
		{`null`, "Fired", 0, "firing"},
	}
	for _, tt := range tests {
		t.Run(tt.severity+"/"+tt.condition, func(t *testing.T) {
			body := fmt.Sprintf(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"severity":%s,"monitorCondition":%q}}}`, tt.severity, tt.condition)
			a := decodeOne(t, NewAzureMonitor("azure"), body)
			wantEq(t, "Severity", a.Severity, tt.want)
			wantEq(t, "Status", a.Status, tt.wantState)
		})
	}
}

func TestAzureMonitorDecodeFields(t *testing.T) {
	tests := []decodedCase{
		{name: "alert id, rule and time", body: `{"data":{"essentials":{"alertId":"/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/g","alertRule":"r","firedDateTime":"2019-03-22T13:58:24.3713213Z"}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/g")
				wantEq(t, "Rule", a.Rule, "r")
				wantEq(t, "Title", a.Title, "r")
				wantEq(t, "GroupKey", a.GroupKey, "")
				wantTime(t, a.Time, time.Date(2019, 3, 22, 13, 58, 24, 371321300, time.UTC))
			}},
		{name: "no schema id is accepted", body: `{"data":{"essentials":{"alertRule":"r"}}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "r") }},
		{name: "no alert id derives one", body: `{"data":{}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, derivedID([]byte(`{"data":{}}`))) }},
		{name: "label precedence", body: `{"data":{
				"essentials":{"alertRule":"r"},
				"alertContext":{"labels":{"a":"prom","b":"prom"},"properties":{"b":"rule","c":"rule"},
					"condition":{"allOf":[{"dimensions":[{"name":"a","value":"dim"},{"name":"d","value":"dim"}]}]}},
				"customProperties":{"c":"custom","alertRule":"custom"}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"a": "prom", "b": "rule", "c": "custom", "d": "dim", "alertRule": "r"})
			}},
		{name: "first criterion's dimension wins", body: `{"data":{"alertContext":{"condition":{"allOf":[
				{"dimensions":[{"name":"model_name","value":"gpt-4o"},{"name":"n","value":3},{"value":"anonymous"},{"name":"obj","value":{}}]},
				null,
				{"dimensions":[{"name":"model_name","value":"other"}]}]}}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"model_name": "gpt-4o", "n": "3"})
				wantEq(t, "Asset.Model", a.Asset.Model, "gpt-4o")
			}},
		{name: "custom properties name the asset and technique", body: `{"data":{"customProperties":{"api_key_id":"k1","atlas":"AML.T0024"}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Asset.KeyID", a.Asset.KeyID, "k1")
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024"})
			}},
		{name: "targets joined", body: `{"data":{"essentials":{"alertTargetIDs":["/a","/b"],"configurationItems":["a","b"]}}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"alertTargetIDs": "/a,/b", "configurationItems": "a,b"})
			}},
	}
	checkDecoded(t, NewAzureMonitor("azure"), tests)
}

func FuzzAzureMonitorDecode(f *testing.F) {
	fuzzDecoder(f, NewAzureMonitor("azure"), "azure", "azuremonitor", fuzzOptions{seeds: []string{
		`{"data":{"alertContext":{"condition":{"allOf":[{"dimensions":[{"name":"a","value":[1,2]}]}]}}}}`,
	}})
}
