// Package assets is the inventory of the AI systems aisoar protects —
// models, data pipelines, gateways and their API keys, artifact stores —
// with their owners, lineage and provenance, read from assets.yaml. Alerts
// are matched to the entries they name, so playbooks address targets by
// asset rather than by URL.
package assets

// Inventory is the whole assets.yaml. Names are the keys of each section.
type Inventory struct {
	// Teams own assets; each maps to the approver roles it answers for
	// (soc, mlops, data-science, risk — the roles of the config file).
	Teams     map[string]Team     `yaml:"teams" json:"teams"`
	Models    map[string]Model    `yaml:"models" json:"models"`
	Pipelines map[string]Pipeline `yaml:"pipelines" json:"pipelines"`
	Gateways  map[string]Gateway  `yaml:"gateways" json:"gateways"`
	Keys      map[string]Key      `yaml:"keys" json:"keys"`
	Stores    map[string]Store    `yaml:"stores" json:"stores"`

	// File is where the inventory was read from.
	File string `yaml:"-" json:"-"`

	// models maps every name an alert may use for a model (its key,
	// aliases, registry and serving names, endpoint) to the model.
	models map[string]*Model
}

// Team is an owning team and the approver roles it stands for.
type Team struct {
	Roles []string `yaml:"roles" json:"roles"`
	// Slack is the team's channel, such as #fraud-ml.
	Slack string `yaml:"slack" json:"slack"`
}

// Model is a model in production.
type Model struct {
	// Name is the entry's key in its section.
	Name  string `yaml:"-" json:"name"`
	Owner string `yaml:"owner" json:"owner"`
	// Aliases are other names alerts use for the model: a gateway's model
	// name, a serving name, an old registry name.
	Aliases  []string `yaml:"aliases" json:"aliases"`
	Registry Registry `yaml:"registry" json:"registry"`
	Serving  Serving  `yaml:"serving" json:"serving"`
	// Gateway is the inference gateway in front of the model.
	Gateway    string     `yaml:"gateway" json:"gateway"`
	Artifact   Artifact   `yaml:"artifact" json:"artifact"`
	Lineage    Lineage    `yaml:"lineage" json:"lineage"`
	Validation Validation `yaml:"validation" json:"validation"`
	// ATLAS lists the MITRE ATLAS techniques the model is exposed to and
	// monitored for.
	ATLAS []string `yaml:"atlas" json:"atlas"`
}

// Registry is where the model's versions are registered (an mlflow target).
type Registry struct {
	Target string `yaml:"target" json:"target"`
	// Name is the registered model name; default the model's name.
	Name string `yaml:"name" json:"name"`
	// ServingAlias points at the version in production (default champion);
	// GoodAlias at the last-known-good one (default last-known-good).
	ServingAlias string `yaml:"serving_alias" json:"serving_alias"`
	GoodAlias    string `yaml:"good_alias" json:"good_alias"`
}

// Serving is where the model is served (a kserve target).
type Serving struct {
	Target    string `yaml:"target" json:"target"`
	Name      string `yaml:"name" json:"name"`
	Namespace string `yaml:"namespace" json:"namespace"`
	// Endpoint is the URL clients call; alerts that name it find the model.
	Endpoint string `yaml:"endpoint" json:"endpoint"`
}

// Artifact is the model's provenance: where its weights come from and how
// to check them.
type Artifact struct {
	// URI locates the artifact (s3://…, https://…, models:/…).
	URI string `yaml:"uri" json:"uri"`
	// Store is the artifact store holding it; Path is its key under the
	// store's prefix.
	Store string `yaml:"store" json:"store"`
	Path  string `yaml:"path" json:"path"`
	// Digest is the expected "sha256:<hex>"; Signature locates a DSSE
	// envelope or Sigstore bundle over it.
	Digest    string `yaml:"digest" json:"digest"`
	Signature string `yaml:"signature" json:"signature"`
	// AttestationKey names the key of attestation.keys in the config the
	// signature is checked with, by the daily re-attestation.
	AttestationKey string `yaml:"attestation_key" json:"attestation_key,omitempty"`
}

// Lineage is what the model was made from.
type Lineage struct {
	// Pipelines produced its training data (names in pipelines:).
	Pipelines []string `yaml:"pipelines" json:"pipelines"`
	// TrainingRun identifies the run that trained it, such as an MLflow run id.
	TrainingRun string `yaml:"training_run" json:"training_run"`
}

// Validation is how a candidate version is evaluated (an evaluator target).
type Validation struct {
	Target   string  `yaml:"target" json:"target"`
	Suite    string  `yaml:"suite" json:"suite"`
	MinScore float64 `yaml:"min_score" json:"min_score"`
}

// Pipeline is a data pipeline feeding models.
type Pipeline struct {
	// Name is the entry's key in its section.
	Name         string       `yaml:"-" json:"name"`
	Owner        string       `yaml:"owner" json:"owner"`
	Orchestrator Orchestrator `yaml:"orchestrator" json:"orchestrator"`
	// Sources are the data sources the pipeline ingests.
	Sources []Source `yaml:"sources" json:"sources"`
	// Store and Prefix locate the data it writes, for quarantine and
	// evidence.
	Store  string `yaml:"store" json:"store"`
	Prefix string `yaml:"prefix" json:"prefix"`
}

// Orchestrator runs the pipeline: an Airflow DAG or a Kafka Connect connector.
type Orchestrator struct {
	Target    string `yaml:"target" json:"target"`
	DAG       string `yaml:"dag" json:"dag"`
	Connector string `yaml:"connector" json:"connector"`
}

// Source is a data source and who approved it.
type Source struct {
	Name string `yaml:"name" json:"name"`
	URI  string `yaml:"uri" json:"uri"`
	// ApprovedBy and ApprovedAt record the source's approval (RFC 3339 or
	// a date); a source without them is unapproved.
	ApprovedBy string `yaml:"approved_by" json:"approved_by"`
	ApprovedAt string `yaml:"approved_at" json:"approved_at"`
}

// Gateway is an inference gateway (a litellm, kong or http target).
type Gateway struct {
	// Name is the entry's key in its section.
	Name   string `yaml:"-" json:"name"`
	Owner  string `yaml:"owner" json:"owner"`
	Target string `yaml:"target" json:"target"`
}

// Key is an API key by reference: never its value.
type Key struct {
	// Name is the entry's key in its section.
	Name    string `yaml:"-" json:"name"`
	Owner   string `yaml:"owner" json:"owner"`
	Gateway string `yaml:"gateway" json:"gateway"`
	Tenant  string `yaml:"tenant" json:"tenant"`
	// Vault locates the secret that holds the key.
	Vault VaultRef `yaml:"vault" json:"vault"`
}

// VaultRef is a field of a KV v2 secret in a vault target.
type VaultRef struct {
	Target string `yaml:"target" json:"target"`
	Path   string `yaml:"path" json:"path"`
	Field  string `yaml:"field" json:"field"`
}

// Store is an artifact or data store (an s3 target).
type Store struct {
	// Name is the entry's key in its section.
	Name   string `yaml:"-" json:"name"`
	Owner  string `yaml:"owner" json:"owner"`
	Target string `yaml:"target" json:"target"`
	Prefix string `yaml:"prefix" json:"prefix"`
}
