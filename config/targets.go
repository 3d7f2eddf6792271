package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Target kinds: the systems containment actions drive.
const (
	TargetLiteLLM      = "litellm"
	TargetKong         = "kong"
	TargetHTTP         = "http"
	TargetMLflow       = "mlflow"
	TargetKServe       = "kserve"
	TargetAirflow      = "airflow"
	TargetKafkaConnect = "kafka_connect"
	TargetS3           = "s3"
	TargetVault        = "vault"
	TargetEvaluator    = "evaluator"
)

// TargetKinds lists the target kinds, for messages.
var TargetKinds = []string{TargetLiteLLM, TargetKong, TargetHTTP, TargetMLflow, TargetKServe, TargetAirflow,
	TargetKafkaConnect, TargetS3, TargetVault, TargetEvaluator}

// Target is a system the containment actions act on: an inference
// gateway, a model registry, a pipeline orchestrator, an object store,
// Vault. Playbooks name a target (or an asset that names one), never a URL
// or a secret.
type Target struct {
	Kind string `yaml:"kind"`
	URL  string `yaml:"url"`
	// CAFile, when set, is the CA bundle that verifies the target's TLS
	// certificate (a Kubernetes API server's, say).
	CAFile string     `yaml:"ca_file"`
	Auth   TargetAuth `yaml:"auth"`
	// Namespace is the Kubernetes namespace of a kserve target, or the
	// Vault namespace (Enterprise) of a vault target.
	Namespace string `yaml:"namespace"`
	// Region and Bucket locate an s3 target's bucket.
	Region string `yaml:"region"`
	Bucket string `yaml:"bucket"`
}

// TargetAuth is how aisoar authenticates to a target; at most one form is set.
type TargetAuth struct {
	// Bearer is sent as "Authorization: Bearer <token>".
	Bearer *Secret `yaml:"bearer"`
	// Header sends a secret in a named header, such as Kong-Admin-Token.
	Header *HeaderAuth `yaml:"header"`
	// Basic is HTTP basic authentication.
	Basic *BasicSecret `yaml:"basic"`
	// AWS signs requests with AWS Signature Version 4 (s3 targets).
	AWS *AWSAuth `yaml:"aws"`
}

// HeaderAuth is a secret carried in a header of the target's choosing.
type HeaderAuth struct {
	Name  string `yaml:"name"`
	Value Secret `yaml:"value"`
}

// BasicSecret is a user name and a password kept as a secret.
type BasicSecret struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// AWSAuth is an access key for Signature Version 4.
type AWSAuth struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey Secret `yaml:"secret_access_key"`
}

// validateTargets checks every target's kind, URL and authentication.
func validateTargets(targets map[string]Target, add func(string, ...any)) {
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		t := targets[name]
		at := "targets." + name
		if !sourceName.MatchString(name) {
			add("%s: a target name must be lowercase letters, digits, '-' or '_'", at)
		}
		if !slices.Contains(TargetKinds, t.Kind) {
			add("%s.kind %q is unknown: use one of %s", at, t.Kind, strings.Join(TargetKinds, ", "))
		}
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("%s.url %q must be an http or https URL", at, t.URL)
		}
		if t.Kind == TargetS3 && t.Bucket == "" {
			add("%s.bucket is required for an s3 target", at)
		}
		validateTargetAuth(at+".auth", t.Auth, add)
	}
}

func validateTargetAuth(at string, a TargetAuth, add func(string, ...any)) {
	forms := 0
	if a.Bearer != nil {
		forms++
		if !a.Bearer.IsSet() {
			add("%s.bearer needs env, file or vault", at)
		}
	}
	if h := a.Header; h != nil {
		forms++
		if h.Name == "" {
			add("%s.header.name is required", at)
		}
		if !h.Value.IsSet() {
			add("%s.header.value needs env, file or vault", at)
		}
	}
	if b := a.Basic; b != nil {
		forms++
		if b.Username == "" {
			add("%s.basic.username is required", at)
		}
		if !b.Password.IsSet() {
			add("%s.basic.password needs env, file or vault", at)
		}
	}
	if k := a.AWS; k != nil {
		forms++
		if k.AccessKeyID == "" {
			add("%s.aws.access_key_id is required", at)
		}
		if !k.SecretAccessKey.IsSet() {
			add("%s.aws.secret_access_key needs env, file or vault", at)
		}
	}
	if forms > 1 {
		add("%s: set one of bearer, header, basic or aws, not %d", at, forms)
	}
}
