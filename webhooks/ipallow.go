package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// IPAllowlist admits requests whose client address is in one of a set of
// networks. The client is the TCP peer, unless the peer is a trusted proxy:
// then it is the right-most X-Forwarded-For entry that is not itself a trusted
// proxy. X-Forwarded-For from any other peer is ignored, since a client can
// write anything there. It is safe for concurrent use; the zero value rejects
// every request.
type IPAllowlist struct {
	allowed []netip.Prefix
	proxies []netip.Prefix
}

var _ Verifier = (*IPAllowlist)(nil)

// NewIPAllowlist returns a verifier admitting clients in cidrs, each a CIDR
// ("203.0.113.0/24", "2001:db8::/32") or a single address. trustedProxies, in
// the same forms, are the load balancers whose X-Forwarded-For is believed;
// leave it empty when clients connect directly.
func NewIPAllowlist(cidrs []string, trustedProxies []string) (*IPAllowlist, error) {
	if len(cidrs) == 0 {
		return nil, errors.New("ip allowlist: no networks given; an empty allowlist would refuse every request")
	}
	allowed, err := parsePrefixes("allowlist", cidrs)
	if err != nil {
		return nil, err
	}
	proxies, err := parsePrefixes("trusted proxy", trustedProxies)
	if err != nil {
		return nil, err
	}
	return &IPAllowlist{allowed: allowed, proxies: proxies}, nil
}

// parsePrefixes parses CIDRs or bare addresses. IPv4-mapped IPv6 prefixes
// are kept as IPv4, so that they match the unmapped client addresses.
func parsePrefixes(what string, entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for i, s := range entries {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("ip allowlist: %s entry %d, %q, is not a CIDR such as 203.0.113.0/24: %w", what, i+1, s, err)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("ip allowlist: %s entry %d, %q, is neither an IP address nor a CIDR: %w", what, i+1, s, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("ip allowlist: %s entry %d, %q, has an IPv6 zone; give the address without it", what, i+1, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Verify admits the request if its client address is allowed. The body is
// not used.
func (a *IPAllowlist) Verify(r *http.Request, _ []byte) error {
	if a == nil || len(a.allowed) == 0 {
		return unauthorized("ip allowlist has no networks; make it with NewIPAllowlist")
	}
	client, via, err := a.clientAddr(r)
	if err != nil {
		return err
	}
	if contains(a.allowed, client) {
		return nil
	}
	msg := fmt.Sprintf("client address %s is not in the source's allowlist", client)
	if via.IsValid() {
		msg += fmt.Sprintf(" (taken from X-Forwarded-For, as sent by trusted proxy %s)", via)
	}
	return unauthorized(msg)
}

// clientAddr returns the client's address and, if it came from
// X-Forwarded-For, the trusted proxy that connected to us.
func (a *IPAllowlist) clientAddr(r *http.Request) (client, via netip.Addr, err error) {
	peer, err := parseHostAddr(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, netip.Addr{}, unauthorized(fmt.Sprintf("remote address %s is not an IP address", quote(r.RemoteAddr)))
	}
	if !contains(a.proxies, peer) {
		return peer, netip.Addr{}, nil
	}
	// Each proxy appends the address it received from, so reading right to
	// left, entries are trustworthy up to and including the first one that
	// is not a trusted proxy; everything left of it is the client's word.
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, strings.Split(v, ",")...)
	}
	client = peer
	for i := len(entries) - 1; i >= 0; i-- {
		e := strings.TrimSpace(entries[i])
		addr, err := parseHostAddr(e)
		if err != nil {
			return netip.Addr{}, netip.Addr{}, unauthorized(fmt.Sprintf("X-Forwarded-For entry %s, from trusted proxy %s, is not an IP address", quote(e), peer))
		}
		client = addr
		if !contains(a.proxies, addr) {
			break
		}
	}
	return client, peer, nil
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port", dropping any IPv6
// zone and unmapping IPv4-mapped IPv6 addresses.
func parseHostAddr(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
				return netip.Addr{}, err
			}
			if addr, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, err
			}
		} else {
			addr = ap.Addr()
		}
	}
	return addr.WithZone("").Unmap(), nil
}

func contains(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
