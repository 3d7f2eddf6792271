package webhooks

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestNewIPAllowlist(t *testing.T) {
	tests := []struct {
		name           string
		cidrs, proxies []string
		wantErr        string // substring; "" means success
	}{
		{name: "cidrs and addresses", cidrs: []string{"203.0.113.0/24", "198.51.100.7", "2001:db8::/32", " ::1 "}},
		{name: "with proxies", cidrs: []string{"203.0.113.0/24"}, proxies: []string{"10.0.0.0/8"}},
		{name: "host bits set are masked", cidrs: []string{"203.0.113.9/24"}},
		{name: "none", wantErr: "no networks given"},
		{name: "bad cidr", cidrs: []string{"203.0.113.0/33"}, wantErr: `allowlist entry 1, "203.0.113.0/33", is not a CIDR`},
		{name: "bad address", cidrs: []string{"10.0.0.1", "splunk.example"}, wantErr: `allowlist entry 2, "splunk.example", is neither an IP address nor a CIDR`},
		{name: "bad proxy", cidrs: []string{"10.0.0.0/8"}, proxies: []string{"lb"}, wantErr: `trusted proxy entry 1, "lb"`},
		{name: "zone", cidrs: []string{"fe80::1%eth0"}, wantErr: "has an IPv6 zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewIPAllowlist(tt.cidrs, tt.proxies)
			if tt.wantErr == "" {
				if err != nil || a == nil {
					t.Fatalf("NewIPAllowlist: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIPAllowlistVerify(t *testing.T) {
	a, err := NewIPAllowlist(
		[]string{"203.0.113.0/24", "2001:db8:1::/48", "192.0.2.10", "::ffff:198.51.100.0/120"},
		[]string{"10.0.0.0/8", "fd00::/8"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		remoteAddr string
		xff        []string // X-Forwarded-For header values
		wantMsg    string   // substring of the error; "" means success
	}{
		{name: "direct, allowed", remoteAddr: "203.0.113.9:51234"},
		{name: "direct, single address", remoteAddr: "192.0.2.10:443"},
		{name: "direct, IPv6", remoteAddr: "[2001:db8:1::5]:443"},
		{name: "direct, IPv4-mapped IPv6 peer", remoteAddr: "[::ffff:203.0.113.9]:443"},
		{name: "direct, mapped allowlist entry", remoteAddr: "198.51.100.4:443"},
		{name: "direct, zone dropped", remoteAddr: "[2001:db8:1::5%eth0]:443"},
		{name: "direct, no port", remoteAddr: "203.0.113.9"},
		{name: "direct, not allowed", remoteAddr: "192.0.2.11:443",
			wantMsg: "client address 192.0.2.11 is not in the source's allowlist"},
		{name: "untrusted peer's XFF is ignored", remoteAddr: "192.0.2.11:443", xff: []string{"203.0.113.9"},
			wantMsg: "client address 192.0.2.11 is not in the source's allowlist"},
		{name: "untrusted peer's XFF does not hide it", remoteAddr: "203.0.113.9:443", xff: []string{"garbage"}},
		{name: "via proxy, allowed", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9"}},
		{name: "via proxy, not allowed", remoteAddr: "10.1.2.3:443", xff: []string{"192.0.2.99"},
			wantMsg: "client address 192.0.2.99 is not in the source's allowlist (taken from X-Forwarded-For, as sent by trusted proxy 10.1.2.3)"},
		{name: "via proxy, spoofed left entry ignored", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9, 192.0.2.99"},
			wantMsg: "client address 192.0.2.99 is not"},
		{name: "via proxy, spoofed left entry with allowed client", remoteAddr: "10.1.2.3:443", xff: []string{"192.0.2.99, 203.0.113.9"}},
		{name: "via two proxies", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9, 10.9.9.9"}},
		{name: "via two proxies, header lines", remoteAddr: "10.1.2.3:443", xff: []string{"192.0.2.99", "203.0.113.9", "10.9.9.9"}},
		{name: "via IPv6 proxy", remoteAddr: "[fd00::1]:443", xff: []string{"2001:db8:1::7"}},
		{name: "XFF entry with port", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9:50123"}},
		{name: "XFF entry bracketed IPv6", remoteAddr: "10.1.2.3:443", xff: []string{"[2001:db8:1::7]"}},
		{name: "XFF all proxies uses the left-most", remoteAddr: "10.1.2.3:443", xff: []string{"10.0.0.5, 10.0.0.6"},
			wantMsg: "client address 10.0.0.5 is not"},
		{name: "proxy without XFF is the client", remoteAddr: "10.1.2.3:443",
			wantMsg: "client address 10.1.2.3 is not"},
		{name: "proxy sent garbage", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9, unknown"},
			wantMsg: `X-Forwarded-For entry "unknown", from trusted proxy 10.1.2.3, is not an IP address`},
		{name: "proxy sent an empty entry", remoteAddr: "10.1.2.3:443", xff: []string{"203.0.113.9,"},
			wantMsg: `X-Forwarded-For entry "", from trusted proxy 10.1.2.3`},
		{name: "remote address not IP", remoteAddr: "@", wantMsg: `remote address "@" is not an IP address`},
		{name: "remote address empty", remoteAddr: "", wantMsg: `remote address "" is not an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := alertRequest(nil)
			r.RemoteAddr = tt.remoteAddr
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			checkVerifyError(t, a.Verify(r, nil), tt.wantMsg)
		})
	}
}

func TestIPAllowlistZeroValue(t *testing.T) {
	r := alertRequest(nil)
	r.RemoteAddr = "127.0.0.1:1234"
	var zero IPAllowlist
	if err := zero.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilAllow *IPAllowlist
	if err := nilAllow.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func FuzzIPAllowlistVerify(f *testing.F) {
	f.Add("203.0.113.9:443", "")
	f.Add("10.1.2.3:443", "192.0.2.99, 203.0.113.9")
	f.Add("10.1.2.3:443", "203.0.113.9, 10.0.0.1,, [::1]:80")
	f.Add("[::ffff:10.1.2.3]:1", "::ffff:203.0.113.9")
	f.Add("192.0.2.1:1", "203.0.113.9")
	a, err := NewIPAllowlist([]string{"203.0.113.0/24"}, []string{"10.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remoteAddr, xff string) {
		r := alertRequest(http.Header{"X-Forwarded-For": {xff}})
		r.RemoteAddr = remoteAddr
		err := a.Verify(r, nil)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		if err != nil {
			return
		}
		// Accepted: the peer is allowed itself, or is a trusted proxy (whose
		// X-Forwarded-For then names an allowed client). An untrusted peer's
		// X-Forwarded-For never gets it in.
		peer, perr := parseHostAddr(remoteAddr)
		if perr != nil {
			t.Fatalf("accepted unparsable remote address %q", remoteAddr)
		}
		inProxies := netip.MustParsePrefix("10.0.0.0/8").Contains(peer)
		if !inProxies && !netip.MustParsePrefix("203.0.113.0/24").Contains(peer) {
			t.Fatalf("accepted peer %s (X-Forwarded-For %q), neither allowed nor a trusted proxy", peer, xff)
		}
	})
}
