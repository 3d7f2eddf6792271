package s3test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// statement is a bucket policy statement as the double reads it. Action
// and Resource take a string or a list, as IAM allows.
type statement struct {
	Sid         string          `json:"Sid"`
	Effect      string          `json:"Effect"`
	Principal   json.RawMessage `json:"Principal"`
	Action      stringOrList    `json:"Action"`
	NotAction   stringOrList    `json:"NotAction"`
	Resource    stringOrList    `json:"Resource"`
	NotResource stringOrList    `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

type stringOrList []string

func (l *stringOrList) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*l = []string{one}
		return nil
	}
	return json.Unmarshal(data, (*[]string)(l))
}

// policyStatements reads a policy's statements; IAM allows one statement
// in place of a list.
func policyStatements(doc []byte) ([]statement, error) {
	var policy struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &policy); err != nil {
		return nil, err
	}
	var list []statement
	if err := json.Unmarshal(policy.Statement, &list); err == nil {
		return list, nil
	}
	var one statement
	if err := json.Unmarshal(policy.Statement, &one); err != nil {
		return nil, err
	}
	return []statement{one}, nil
}

var sidPattern = regexp.MustCompile(`^[A-Za-z0-9]*$`)

// checkPolicy validates a bucket policy as PutBucketPolicy does, answering
// MalformedPolicy for what S3 rejects.
func checkPolicy(bucketName string, doc []byte) *s3Error {
	malformed := func(why string) *s3Error {
		return &s3Error{status: http.StatusBadRequest, code: "MalformedPolicy", message: why}
	}
	if !strings.HasPrefix(strings.TrimSpace(string(doc)), "{") {
		return malformed("Policies must be valid JSON and the first byte must be '{'")
	}
	statements, err := policyStatements(doc)
	if err != nil || len(statements) == 0 {
		return malformed("Missing required field Statement")
	}
	sids := map[string]bool{}
	for _, st := range statements {
		switch {
		case !sidPattern.MatchString(st.Sid):
			return malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
		case st.Sid != "" && sids[st.Sid]:
			return malformed("Statement IDs (SID) in a single policy must be unique.")
		case st.Effect != "Allow" && st.Effect != "Deny":
			return malformed("Invalid effect: " + st.Effect)
		case len(st.Principal) == 0:
			return malformed("Missing required field Principal")
		case len(st.Action) == 0 && len(st.NotAction) == 0:
			return malformed("Missing required field Action")
		case len(st.Resource) == 0 && len(st.NotResource) == 0:
			return malformed("Missing required field Resource")
		}
		sids[st.Sid] = true
		for _, res := range append(st.Resource, st.NotResource...) {
			_, path, ok := strings.Cut(res, ":s3:::")
			if !strings.HasPrefix(res, "arn:") || !ok || strings.SplitN(path, "/", 2)[0] != bucketName {
				return malformed("Policy has invalid resource")
			}
		}
	}
	return nil
}

// denied answers AccessDenied when the bucket policy has a Deny statement
// for action on the object. Statements with a Condition, NotAction or
// NotResource are beyond the double and ignored; any principal matches,
// as the double has one caller.
func denied(b *bucket, action, bucketName, key string) *s3Error {
	if b.policy == nil {
		return nil
	}
	statements, _ := policyStatements(b.policy) // checked when it was put
	for _, st := range statements {
		if st.Effect != "Deny" || len(st.Condition) > 0 || len(st.NotAction) > 0 || len(st.NotResource) > 0 {
			continue
		}
		if matchesAny(st.Action, action) && matchesAny(resourcePaths(st.Resource), bucketName+"/"+key) {
			return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied"}
		}
	}
	return nil
}

// resourcePaths strips the "arn:<partition>:s3:::" from resource ARNs.
func resourcePaths(resources []string) []string {
	var paths []string
	for _, res := range resources {
		if _, path, ok := strings.Cut(res, ":s3:::"); ok {
			paths = append(paths, path)
		}
	}
	return paths
}

// matchesAny matches value against IAM patterns, where * stands for any
// run of characters (slashes too) and ? for one; actions match without
// regard to case.
func matchesAny(patterns []string, value string) bool {
	for _, p := range patterns {
		expr := strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(regexp.QuoteMeta(p))
		if strings.HasPrefix(p, "s3:") || p == "*" {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile("^" + expr + "$").MatchString(value) {
			return true
		}
	}
	return false
}
