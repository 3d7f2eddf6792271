package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/webhooks"
)

// source is a configured webhook sender: how its requests are verified,
// how its payloads are decoded, and how fast it may send.
type source struct {
	name     string
	verify   string // the verifier type, for listings
	format   string // the decoder type, for listings
	verifier webhooks.Verifier
	decoder  alerts.Decoder
	mapping  *alerts.CELMapping
	limiter  *rate.Limiter // nil: unlimited
	dryRun   bool
	// secretParams are URL query parameters that carry secrets, redacted in logs.
	secretParams []string
	// lastSeen is the Unix nanosecond time of the last accepted request.
	lastSeen atomic.Int64
}

// buildSources resolves each source's secrets and builds its verifier,
// decoder and CEL mapping, reporting every source that fails.
func buildSources(ctx context.Context, cfg map[string]config.Source) (map[string]*source, error) {
	names := make([]string, 0, len(cfg))
	for name := range cfg {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]*source, len(cfg))
	var errs []error
	for _, name := range names {
		src, err := buildSource(ctx, name, cfg[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("source %q: %w", name, err))
			continue
		}
		out[name] = src
	}
	return out, errors.Join(errs...)
}

func buildSource(ctx context.Context, name string, c config.Source) (*source, error) {
	verifier, err := buildVerifier(ctx, c)
	if err != nil {
		return nil, err
	}
	decoder, err := buildDecoder(name, c.Decoder)
	if err != nil {
		return nil, err
	}
	mapping, err := alerts.NewCELMapping(c.Decoder.CEL)
	if err != nil {
		return nil, fmt.Errorf("decoder.cel:\n%w", err)
	}
	src := &source{name: name, verify: c.Verify.Type, format: c.Decoder.Type, verifier: verifier, decoder: decoder, mapping: mapping, dryRun: c.DryRun}
	if r := c.RateLimit; r != nil {
		src.limiter = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
	}
	if c.Verify.Type == config.VerifyQueryToken {
		src.secretParams = []string{c.Verify.Query.Param}
	}
	return src, nil
}

// buildVerifier combines the network checks (client certificate, IP
// allowlist) with the source's own verifier; all must pass.
func buildVerifier(ctx context.Context, c config.Source) (webhooks.Verifier, error) {
	var chain []webhooks.Verifier
	if len(c.ClientCertSubjects) > 0 {
		chain = append(chain, webhooks.RequireClientCert(c.ClientCertSubjects...))
	}
	if len(c.AllowIPs) > 0 {
		allow, err := webhooks.NewIPAllowlist(c.AllowIPs, c.TrustedProxies)
		if err != nil {
			return nil, err
		}
		chain = append(chain, allow)
	}
	v := c.Verify
	secret := ""
	if v.Type != config.VerifyJWT {
		var err error
		if secret, err = v.Secret.Resolve(); err != nil {
			return nil, fmt.Errorf("verify.secret: %w", err)
		}
	}
	var (
		own webhooks.Verifier
		err error
	)
	switch v.Type {
	case config.VerifyStandardWebhooks:
		own, err = webhooks.NewStandardWebhooks(secret)
	case config.VerifyHMAC:
		own, err = webhooks.NewHMAC(secret, hmacOptions(v.HMAC))
	case config.VerifyBearer:
		own, err = webhooks.NewBearer(secret)
	case config.VerifyJWT:
		own, err = webhooks.NewJWT(ctx, webhooks.JWTOptions{
			JWKSURL: v.JWT.JWKSURL, Issuer: v.JWT.Issuer, Audience: v.JWT.Audience,
			RequiredRoles: v.JWT.Roles, RequiredScopes: v.JWT.Scopes,
		})
	case config.VerifyBasic:
		own, err = webhooks.NewBasic(v.Basic.User, secret)
	case config.VerifyQueryToken:
		own, err = webhooks.NewQueryToken(v.Query.Param, secret)
	default:
		err = fmt.Errorf("unknown verifier type %q", v.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return webhooks.All(append(chain, own)...), nil
}

func hmacOptions(c config.HMAC) webhooks.HMACOptions {
	return webhooks.HMACOptions{
		Header: c.Header, Algorithm: c.Algorithm, Encoding: c.Encoding, Prefix: c.Prefix,
		TimestampHeader: c.TimestampHeader, Tolerance: c.Tolerance, SignedString: c.SignedString,
	}
}

// buildDecoder returns the decoder of a payload format.
func buildDecoder(source string, c config.Decoder) (alerts.Decoder, error) {
	switch c.Type {
	case config.DecoderGeneric, "":
		return alerts.NewGeneric(source, genericMapping(c.Mapping)), nil
	case config.DecoderSplunk:
		return alerts.NewSplunk(source), nil
	case config.DecoderElastic:
		return alerts.NewElastic(source), nil
	case config.DecoderSentinel:
		return alerts.NewSentinel(source), nil
	case config.DecoderAzureMonitor:
		return alerts.NewAzureMonitor(source), nil
	case config.DecoderDatadog:
		return alerts.NewDatadog(source), nil
	case config.DecoderGrafana:
		return alerts.NewGrafana(source), nil
	case config.DecoderAlertmanager:
		return alerts.NewAlertmanager(source), nil
	case config.DecoderOCSF:
		return alerts.NewOCSF(source), nil
	}
	return nil, fmt.Errorf("unknown decoder type %q", c.Type)
}

// genericMapping turns the config's field → path map into the decoder's mapping.
func genericMapping(m map[string]string) alerts.GenericMapping {
	return alerts.GenericMapping{
		ID: m["id"], Rule: m["rule"], Title: m["title"], Severity: m["severity"], Status: m["status"],
		Time: m["time"], Category: m["category"], Techniques: m["techniques"], GroupKey: m["group_key"],
		AssetModel: m["asset.model"], AssetEndpoint: m["asset.endpoint"], AssetPipeline: m["asset.pipeline"],
		AssetTenant: m["asset.tenant"], AssetKeyID: m["asset.key_id"], Labels: m["labels"],
	}
}

// SourceSummary is one line of the sources list.
type SourceSummary struct {
	Name     string    `json:"name"`
	Verify   string    `json:"verify"`
	Format   string    `json:"format"`
	DryRun   bool      `json:"dry_run,omitempty"`
	LastSeen time.Time `json:"last_seen,omitzero"`
}

func (s *source) summary() SourceSummary {
	sum := SourceSummary{Name: s.name, Verify: s.verify, Format: s.format, DryRun: s.dryRun}
	if ns := s.lastSeen.Load(); ns != 0 {
		sum.LastSeen = time.Unix(0, ns).UTC()
	}
	return sum
}
