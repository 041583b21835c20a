package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// publicDNS plays a resolver: names map to fixed addresses, others fail.
func publicDNS(m map[string]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		v, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, s := range strings.Split(v, ",") {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestCheckURLRefusesHostileURLs(t *testing.T) {
	p := &Policy{LookupNetIP: publicDNS(map[string]string{
		"mis.example.ru": "93.184.216.34", "meta.example.ru": "169.254.169.254", "mixed.example.ru": "93.184.216.34,10.0.0.5",
		"v6.example.ru": "2a00:1450:4010:c0e::64", "ula.example.ru": "fd00:ec2::254", "localhost": "127.0.0.1,::1",
	})}
	for _, raw := range []string{
		"http://mis.example.ru/cb", // https required
		"ftp://mis.example.ru/cb",
		"https://user:pass@mis.example.ru/cb",
		"https://user@mis.example.ru/cb",
		"https://mis.example.ru/" + strings.Repeat("a", MaxURLBytes),
		"/relative/path",
		"https:///nohost",
		"https://169.254.169.254/latest/meta-data/",
		"https://127.0.0.1/",
		"https://127.0.0.1:5432/",
		"https://127.1/",
		"https://0177.0.0.1/",
		"https://0x7f.0.0.1/",
		"https://0x7f000001/",
		"https://2130706433/",
		"https://017700000001/",
		"https://127.0.0.1./",
		"https://%31%32%37.0.0.1/",
		"https://0/",
		"https://0.0.0.0/",
		"https://10.1.2.3/",
		"https://172.16.0.1/",
		"https://192.168.1.1/",
		"https://100.64.0.1/",
		"https://224.0.0.1/",
		"https://255.255.255.255/",
		"https://[::1]/",
		"https://[::]/",
		"https://[::ffff:127.0.0.1]/",
		"https://[::ffff:7f00:1]/",
		"https://[::127.0.0.1]/",
		"https://[64:ff9b::a9fe:a9fe]/",
		"https://[2002:7f00:1::]/",
		"https://[fe80::1%25eth0]/",
		"https://[fe80::1]/",
		"https://[fd00:ec2::254]/",
		"https://[ff02::1]/",
		"https://999.1.1.1/",
		"https://1.2.3.08/",
		"https://example.123/",
		"https://localhost/",
		"https://meta.example.ru/",
		"https://mixed.example.ru/",
		"https://ula.example.ru/",
		"https://does-not-resolve.example.ru/",
		"https://mis.example.ru:0/",
	} {
		_, err := p.CheckURL(context.Background(), raw)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%.80s: accepted (err %v)", raw, err)
		}
	}
	for _, raw := range []string{
		"https://mis.example.ru/cb?x=1",
		"https://mis.example.ru:8443/cb",
		"https://v6.example.ru/cb",
		"https://93.184.216.34/cb",
		"https://[2a00:1450:4010:c0e::64]/cb",
		"https://mis.example.ru/" + strings.Repeat("a", MaxURLBytes-len("https://mis.example.ru/")),
	} {
		if _, err := p.CheckURL(context.Background(), raw); err != nil {
			t.Errorf("%.80s: refused: %v", raw, err)
		}
	}
}

func TestAllowListAndHTTP(t *testing.T) {
	p := &Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.20.0.0/16")}, AllowHTTP: true}
	for _, raw := range []string{"http://127.0.0.1:8080/cb", "http://2130706433/", "https://[::ffff:127.0.0.1]/", "https://10.20.3.4/"} {
		if _, _, err := p.ParseURL(raw); err != nil {
			t.Errorf("%s: refused despite the allow-list: %v", raw, err)
		}
	}
	for _, raw := range []string{"http://10.21.0.1/", "http://[::1]/", "http://169.254.169.254/"} {
		if _, _, err := p.ParseURL(raw); err == nil {
			t.Errorf("%s: accepted outside the allow-list", raw)
		}
	}
}

func TestParseInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "017700000001": "127.0.0.1", "127.1": "127.0.0.1",
		"127.0.1": "127.0.0.1", "0x7f.1": "127.0.0.1", "0177.0.0.01": "127.0.0.1", "10.0x10.0300": "10.16.0.192", "0": "0.0.0.0",
		"8.8.8.8": "8.8.8.8",
	} {
		a, ok := parseInetAton(in)
		if !ok || a.String() != want {
			t.Errorf("%s: %v %v, want %s", in, a, ok, want)
		}
	}
	for _, in := range []string{"256.0.0.1", "1.2.3.4.5", "4294967296", "1.16777216", "08", "1..2", "0xg"} {
		if a, ok := parseInetAton(in); ok {
			t.Errorf("%s: parsed as %v", in, a)
		}
	}
}

// The connect-time check sees the resolved address: a name that resolves
// to loopback ("localhost", as after a DNS rebinding) never gets a request.
func TestClientRefusesLoopbackAtConnect(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c := (&Policy{AllowHTTP: true}).Client(5 * time.Second)
	for _, u := range []string{srv.URL, "http://localhost:" + strconv.Itoa(port) + "/"} {
		_, err := c.Post(u, "application/json", strings.NewReader("{}"))
		if err == nil || Category(err) != CategoryForbidden || !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v (category %q)", u, err, Category(err))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	// Allowed explicitly, the same receiver is reached.
	ok := (&Policy{AllowHTTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}).Client(5 * time.Second)
	res, err := ok.Post("http://localhost:"+strconv.Itoa(port)+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("allowed receiver got %d requests", hits.Load())
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	var target atomic.Int32
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target.Add(1) }))
	defer dst.Close()
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, dst.URL+"/internal", http.StatusTemporaryRedirect)
	}))
	defer src.Close()
	c := (&Policy{AllowHTTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}).Client(5 * time.Second)
	res, err := c.Post(src.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || target.Load() != 0 {
		t.Fatalf("status %d, redirect target hit %d times", res.StatusCode, target.Load())
	}
}

func TestCategories(t *testing.T) {
	allow := &Policy{AllowHTTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	// refused: a loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	_, err = allow.Client(5 * time.Second).Get(closed)
	if got := Category(err); got != CategoryRefused {
		t.Errorf("closed port: %q (%v)", got, err)
	}
	// timeout: a receiver that never answers.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	_, err = allow.Client(200 * time.Millisecond).Get(slow.URL)
	if got := Category(err); got != CategoryTimeout {
		t.Errorf("hanging receiver: %q (%v)", got, err)
	}
	// tls: a certificate the hub does not trust.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	_, err = allow.Client(5 * time.Second).Get(tlsSrv.URL)
	if got := Category(err); got != CategoryTLS {
		t.Errorf("untrusted certificate: %q (%v)", got, err)
	}
	if got := Category(&net.DNSError{Err: "no such host", Name: "x.example", IsNotFound: true}); got != CategoryDNS {
		t.Errorf("dns: %q", got)
	}
}
