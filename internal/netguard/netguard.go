// Package netguard is the hub's policy for addresses it connects to on a
// caller's behalf (МИС callback URLs): the hub must not become a way into
// its own network (cloud metadata, loopback services, the database port).
//
// The same Policy is applied twice:
//   - when a URL is set (ParseURL, CheckURL): scheme, length, credentials,
//     the host as an IP literal in any spelling a URL parser, inet_aton or a
//     resolver accepts (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.1,
//     IPv4-mapped IPv6, zone ids), and the addresses a name resolves to;
//   - when connecting (Control, Client): every address the dialer is about
//     to connect to, after resolution, so a name that resolves to a public
//     address when checked and to 127.0.0.1 when used (DNS rebinding) still
//     cannot reach loopback. The client follows no redirects and uses no proxy.
//
// Refused: loopback, link-local, private (RFC 1918), unique-local,
// multicast, unspecified, and the special-purpose blocks in reserved below
// — unless an operator allows a network explicitly (Allow, from
// HUB_CALLBACK_ALLOW_CIDRS), which is how on-premise МИС on private networks
// (and the demo's loopback receiver) are reached.
package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxURLBytes is the longest URL accepted.
const MaxURLBytes = 2048

// ErrForbidden is wrapped by every refusal of this package.
var ErrForbidden = errors.New("forbidden")

// Error is a refusal: Reason is safe to show to the URL's owner.
type Error struct{ Reason string }

func (e *Error) Error() string { return "callback URL forbidden: " + e.Reason }

// Unwrap makes errors.Is(err, ErrForbidden) hold.
func (e *Error) Unwrap() error { return ErrForbidden }

// AddrError is a refused address met when connecting.
type AddrError struct{ Addr netip.Addr }

func (e *AddrError) Error() string {
	return fmt.Sprintf("connection to %s refused by the callback address policy", e.Addr)
}

// Unwrap makes errors.Is(err, ErrForbidden) hold.
func (e *AddrError) Unwrap() error { return ErrForbidden }

func forbid(format string, a ...any) error { return &Error{Reason: fmt.Sprintf(format, a...)} }

// Policy decides which URLs and addresses callbacks may use.
type Policy struct {
	// Allow lists networks reachable despite being private, loopback etc.
	Allow []netip.Prefix
	// AllowHTTP permits plain http; otherwise only https.
	AllowHTTP bool
	// LookupNetIP resolves names when a URL is checked; nil uses
	// net.DefaultResolver. Tests replace it to play a rebinding DNS.
	LookupNetIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

// reserved are special-purpose blocks (RFC 6890 and successors) that the
// standard library's predicates do not cover but that no МИС callback has a
// reason to use.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"; 0.0.0.0 reaches the local host on Linux
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT shared space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// embedding are IPv6 blocks that carry an IPv4 address a gateway may
// forward to: the embedded address is checked too.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	v4compat  = netip.MustParsePrefix("::/96")
)

// CheckAddr refuses an address outside the allow-list that is loopback,
// link-local, private, unique-local, multicast, unspecified or reserved.
func (p *Policy) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return &AddrError{Addr: a}
	}
	a = a.Unmap().WithZone("")
	for _, pr := range p.Allow {
		if pr.Contains(a) {
			return nil
		}
	}
	if a.Is6() {
		var inner netip.Addr
		b := a.As16()
		switch {
		case nat64.Contains(a), v4compat.Contains(a):
			inner = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(a):
			inner = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if inner.IsValid() {
			if err := p.CheckAddr(inner); err != nil {
				return &AddrError{Addr: a}
			}
		}
	}
	if !a.IsGlobalUnicast() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsPrivate() || a.IsUnspecified() {
		return &AddrError{Addr: a}
	}
	for _, pr := range reserved {
		if pr.Contains(a) {
			return &AddrError{Addr: a}
		}
	}
	return nil
}

// ParseURL applies every check that needs no resolver: scheme, length,
// credentials, port, and the host if it is an IP address in any spelling.
// It returns the parsed URL and, for an IP host, the address.
func (p *Policy) ParseURL(raw string) (*url.URL, netip.Addr, error) {
	if len(raw) > MaxURLBytes {
		return nil, netip.Addr{}, forbid("longer than %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, netip.Addr{}, forbid("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return nil, netip.Addr{}, forbid("https is required (an operator may allow http with HUB_CALLBACK_ALLOW_HTTP)")
		}
	default:
		return nil, netip.Addr{}, forbid("scheme %q: only https is accepted", u.Scheme)
	}
	if u.User != nil {
		return nil, netip.Addr{}, forbid("credentials in the URL are not accepted (the hub signs its calls instead)")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, netip.Addr{}, forbid("port %q", port)
		}
	}
	host := u.Hostname()
	if host == "" {
		return nil, netip.Addr{}, forbid("no host")
	}
	addr, isIP, err := hostAddr(host)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	if isIP {
		if err := p.CheckAddr(addr); err != nil {
			return nil, netip.Addr{}, forbid("address %s is loopback, link-local, private, multicast or reserved; an operator may allow a private network with HUB_CALLBACK_ALLOW_CIDRS", addr.WithZone(""))
		}
	}
	return u, addr, nil
}

// CheckURL is ParseURL plus resolution: every address a name resolves to
// must pass CheckAddr, and a name that does not resolve is refused.
func (p *Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, addr, err := p.ParseURL(raw)
	if err != nil || addr.IsValid() {
		return u, err
	}
	lookup := p.LookupNetIP
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, u.Hostname())
	if err != nil || len(addrs) == 0 {
		return nil, forbid("host %q does not resolve", u.Hostname())
	}
	for _, a := range addrs {
		if p.CheckAddr(a) != nil {
			return nil, forbid("host %q resolves to %s, which is loopback, link-local, private, multicast or reserved; an operator may allow a private network with HUB_CALLBACK_ALLOW_CIDRS", u.Hostname(), a.Unmap().WithZone(""))
		}
	}
	return u, nil
}

// hostAddr reads host as an IP address if it is one in any spelling a
// resolver would accept. A host whose last label is numeric is an IPv4
// address (as browsers read URLs) and must parse as one; a host with a
// colon must be an IPv6 literal. Zone ids are refused outright.
func hostAddr(host string) (netip.Addr, bool, error) {
	if strings.Contains(host, ":") || strings.Contains(host, "%") {
		if strings.Contains(host, "%") {
			return netip.Addr{}, false, forbid("IPv6 zone ids are not accepted")
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, false, forbid("malformed IPv6 address %q", host)
		}
		return a, true, nil
	}
	h := strings.TrimSuffix(host, ".")
	labels := strings.Split(h, ".")
	if !numericLabel(labels[len(labels)-1]) {
		return netip.Addr{}, false, nil
	}
	a, ok := parseInetAton(h)
	if !ok {
		return netip.Addr{}, false, forbid("malformed IPv4 address %q", host)
	}
	return a, true, nil
}

// numericLabel: decimal digits, or 0x followed by hex digits (possibly none).
func numericLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for _, r := range s[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
		return true
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseInetAton reads IPv4 as inet_aton(3) does, which getaddrinfo uses for
// numeric hosts: one to four parts, each decimal, octal (leading 0) or hex
// (0x); the last part fills the remaining bytes (127.1 = 127.0.0.1,
// 2130706433 = 127.0.0.1).
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0" // inet_aton reads a bare 0x as zero
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		n |= vals[i] << (24 - 8*uint(i))
	}
	if vals[last] >= 1<<(8*uint(4-last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// Control is a net.Dialer Control hook: it refuses, after resolution and
// before connecting, any address CheckAddr refuses.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddrError{}
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return err
	}
	return nil
}

// Client is an HTTP client for callbacks: every connection passes Control,
// no proxy is used (a proxy would connect on the hub's behalf, unchecked),
// redirects are not followed (the 3xx is the answer), and each call is
// bounded by timeout.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.Control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Categories of a failed call, the only form in which a failure is stored
// or shown: raw dial errors would tell a caller which of the hub's
// neighbours' ports are open.
const (
	CategoryForbidden  = "forbidden_address"
	CategoryTimeout    = "timeout"
	CategoryDNS        = "dns"
	CategoryRefused    = "refused"
	CategoryTLS        = "tls"
	CategoryConnection = "connection" // reset, unreachable, closed mid-answer
)

// Category classifies a failed call. HTTP status answers are the caller's
// to name (http_<status>).
func Category(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrForbidden):
		return CategoryForbidden
	case errors.As(err, &dnsErr):
		return CategoryDNS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CategoryTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return CategoryRefused
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid),
		strings.Contains(err.Error(), "tls: "):
		return CategoryTLS
	default:
		return CategoryConnection
	}
}
