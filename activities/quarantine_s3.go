package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Prefix states in the quarantine action's previous output.
const (
	prefixOpen        = "open"
	prefixQuarantined = "quarantined"
)

// quarantineActions are the writes a quarantined prefix refuses: new and
// replaced objects (multipart uploads and copies included) and deletions.
var quarantineActions = []string{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}

// quarantineSidPrefix starts the Sid of every deny statement the action
// writes.
const quarantineSidPrefix = "AisoarQuarantine"

// quarantinePrefix blocks writes to a prefix of an s3 target's bucket
// with a bucket policy statement denying everyone quarantineActions on the
// prefix's objects, or with resume removes that statement.
//
// The statement's Sid is derived from the incident (its workflow id) and
// the prefix. A retry finds its own statement and adds none; the undo,
// in the same incident, removes only it; another incident's hold on the
// same prefix is a statement of its own and outlives this one's undo. The
// policy is read, changed and written back whole, keeping every other
// statement as it is; S3 has no conditional write for bucket policies, so
// a change someone else makes between the read and the write is lost.
func quarantinePrefix(ctx context.Context, t *Target, p QuarantineParams) (QuarantineResult, error) {
	if strings.ContainsAny(p.Prefix, "*?") {
		return QuarantineResult{}, badParams("quarantine", "prefix %q holds * or ?, which bucket policies read as wildcards: name a literal key prefix", p.Prefix)
	}
	b, err := t.bucket("quarantine", p.DryRun.DryRun)
	if err != nil {
		return QuarantineResult{}, err
	}
	sid := quarantineSid(ctx, p.Prefix)
	arn := s3ObjectsARN(t, p.Prefix)
	res := QuarantineResult{Resource: "s3://" + t.Bucket + "/" + p.Prefix, StatementID: sid}
	doc, err := b.policy(ctx)
	if err != nil {
		return QuarantineResult{}, err
	}
	policy, err := parseBucketPolicy(doc)
	if err != nil {
		msg := fmt.Sprintf("quarantine: the bucket policy of %q on target %q is not a policy aisoar can merge into: %v", t.Bucket, t.Name, err)
		return QuarantineResult{}, temporal.NewNonRetryableApplicationError(msg, "BadPolicy", err)
	}
	ours := slices.ContainsFunc(policy.Statement, func(s json.RawMessage) bool { return statementSid(s) == sid })
	others := slices.DeleteFunc(slices.Clone(policy.Statement), func(s json.RawMessage) bool { return statementSid(s) == sid })

	if p.Resume {
		res.Previous = p.Previous
		if b.dryRun {
			// The policy was not read: show the write with the rest of it
			// as a placeholder.
			ours, others = true, []json.RawMessage{placeholder(fmt.Sprintf(
				"<the bucket policy's statements other than %s, kept as they are; when none remain, DELETE ?policy instead of this PUT>", sid))}
		}
		if !ours {
			return res, nil // released already, by an earlier attempt
		}
		if len(others) == 0 {
			err = b.deletePolicy(ctx)
		} else {
			err = b.putPolicy(ctx, policy.with(others))
		}
		res.Plan = b.plan()
		return res, err
	}

	if b.dryRun {
		others = []json.RawMessage{placeholder("<the statements already in the bucket policy, kept as they are>")}
	} else {
		res.Previous = prefixOpen
		if slices.ContainsFunc(others, func(s json.RawMessage) bool { return deniesWritesTo(s, arn) }) {
			res.Previous = prefixQuarantined
		}
	}
	if !ours {
		statement, err := json.Marshal(denyStatement{
			Sid: sid, Effect: "Deny", Principal: "*", Action: quarantineActions, Resource: arn,
		})
		if err != nil {
			return QuarantineResult{}, err
		}
		if err := b.putPolicy(ctx, policy.with(append(others, statement))); err != nil {
			return QuarantineResult{}, err
		}
	}
	res.Plan = b.plan()
	return res, nil
}

// quarantineSid is the Sid of the incident's deny statement for prefix:
// letters and digits only, as IAM requires.
func quarantineSid(ctx context.Context, prefix string) string {
	sum := sha256.Sum256([]byte(activity.GetInfo(ctx).WorkflowExecution.ID + "\n" + prefix))
	return quarantineSidPrefix + hex.EncodeToString(sum[:8])
}

// s3ObjectsARN is the ARN of every object under prefix in the target's
// bucket, in the target region's AWS partition.
func s3ObjectsARN(t *Target, prefix string) string {
	partition := "aws"
	switch {
	case strings.HasPrefix(t.Region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(t.Region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":s3:::" + t.Bucket + "/" + prefix + "*"
}

// denyStatement is the statement the action adds to a bucket policy.
type denyStatement struct {
	Sid       string   `json:"Sid"`
	Effect    string   `json:"Effect"`
	Principal string   `json:"Principal"`
	Action    []string `json:"Action"`
	Resource  string   `json:"Resource"`
}

// bucketPolicy is an S3 bucket policy. Its statements are kept as the
// bucket had them, byte for byte.
type bucketPolicy struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

// parseBucketPolicy reads a policy document; nil is a bucket without a
// policy. IAM allows a single statement in place of a list.
func parseBucketPolicy(doc []byte) (bucketPolicy, error) {
	policy := bucketPolicy{Version: "2012-10-17"}
	if len(doc) == 0 {
		return policy, nil
	}
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return bucketPolicy{}, err
	}
	if raw.Version != "" {
		policy.Version = raw.Version
	}
	policy.ID = raw.ID
	switch statements := bytes.TrimSpace(raw.Statement); {
	case len(statements) == 0:
	case statements[0] == '[':
		if err := json.Unmarshal(statements, &policy.Statement); err != nil {
			return bucketPolicy{}, fmt.Errorf("the Statement array: %w", err)
		}
	default:
		policy.Statement = []json.RawMessage{statements}
	}
	return policy, nil
}

// with returns the policy document with the given statements.
func (p bucketPolicy) with(statements []json.RawMessage) []byte {
	p.Statement = statements
	doc, _ := json.Marshal(p) // raw statements that parsed marshal again
	return doc
}

// placeholder is a statement a dry run shows in place of ones it did not
// read.
func placeholder(note string) json.RawMessage {
	doc, _ := json.Marshal(note)
	return doc
}

// statementHead is the part of a statement the action looks at.
type statementHead struct {
	Sid      string          `json:"Sid"`
	Effect   string          `json:"Effect"`
	Resource json.RawMessage `json:"Resource"`
}

func readStatement(s json.RawMessage) statementHead {
	var head statementHead
	_ = json.Unmarshal(s, &head) // a statement that is not an object has no Sid
	return head
}

func statementSid(s json.RawMessage) string { return readStatement(s).Sid }

// deniesWritesTo says whether a statement is a deny on exactly the
// prefix's objects, as another incident's quarantine is.
func deniesWritesTo(s json.RawMessage, arn string) bool {
	head := readStatement(s)
	if head.Effect != "Deny" {
		return false
	}
	var one string
	if json.Unmarshal(head.Resource, &one) == nil {
		return one == arn
	}
	var list []string
	return json.Unmarshal(head.Resource, &list) == nil && slices.Contains(list, arn)
}
