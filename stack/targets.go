package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
)

// targetHeaderTimeout bounds the wait for a target's answer to start.
// The whole exchange is bounded by the step's timeout instead, so that a
// large artifact or evidence object can take as long as the step allows.
const targetHeaderTimeout = time.Minute

// Targets turns the config's targets into the actions' targets. Secrets
// stay references, read by the activity when it makes a request.
func Targets(cfg map[string]config.Target) (activities.Targets, error) {
	out := make(activities.Targets, len(cfg))
	for name, t := range cfg {
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, fmt.Errorf("targets.%s.url: %w", name, err)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.ResponseHeaderTimeout = targetHeaderTimeout
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("targets.%s.ca_file: %w", name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("targets.%s.ca_file: %s holds no PEM certificate", name, t.CAFile)
			}
			transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		out[name] = &activities.Target{
			Name: name, Kind: t.Kind, URL: u,
			Namespace: t.Namespace, Region: t.Region, Bucket: t.Bucket,
			Auth:   targetAuth(t.Auth),
			Client: &http.Client{Transport: transport},
		}
	}
	return out, nil
}

func targetAuth(a config.TargetAuth) activities.TargetAuth {
	switch {
	case a.Bearer != nil:
		return activities.TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: secretReader(*a.Bearer)}
	case a.Header != nil:
		return activities.TargetAuth{Header: a.Header.Name, Secret: secretReader(a.Header.Value)}
	case a.Basic != nil:
		return activities.TargetAuth{Username: a.Basic.Username, Secret: secretReader(a.Basic.Password)}
	case a.AWS != nil:
		return activities.TargetAuth{AccessKeyID: a.AWS.AccessKeyID, Secret: secretReader(a.AWS.SecretAccessKey)}
	}
	return activities.TargetAuth{}
}

// secretReader reads the secret each time it is asked, so a rotated
// secret is picked up without a restart.
func secretReader(s config.Secret) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s.Resolve() }
}
