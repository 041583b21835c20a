// Package sim holds the simulators of the hub's peers: the MSE bureau,
// ЕГР ЗАГС, ЕПГУ, a МИС document provider and the ОМС policy registry.
// They speak the same WSDL as the adapters (decoding and encoding with the
// generated types), dedupe by message id (a repeat gets the original answer
// and is counted), inject faults per operation (latency, HTTP 5xx,
// transient, rate-limit and permanent faults, hangs, outage windows), and
// count everything, so tests and load runs can prove that nothing was lost
// and nothing was delivered twice.
//
// Every peer is an http.Handler:
//
//	POST /soap                 the service: a SOAP 1.1 request, checked against
//	                           the contract's XSD before the peer looks at it
//	GET  /soap?wsdl            the contract (soap:address set to this server);
//	GET  /<svc>.xsd            its schema, where the WSDL's include points
//	GET  /control/counters     per-operation counters (JSON)
//	GET  /control/faults       current fault injection (JSON)
//	PUT  /control/faults       replace it: {"Op": Faults, "*": Faults}
//	POST /control/reset        zero the counters
//
// plus peer-specific control endpoints (documents of the provider, policies
// of the registry, …).
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/xsdcheck"
	"github.com/emdhub/hub/wsdl"
)

// Counters of one operation.
type Counters struct {
	Received   int            `json:"received"`   // every request that reached the operation
	Unique     int            `json:"unique"`     // processed for the first time
	Duplicates int            `json:"duplicates"` // repeats of a processed message id, answered from memory
	Faults     map[string]int `json:"faults"`     // injected, by kind; plus "invalid" for requests the XSD refuses and "refused" for business faults
}

// Fault is a business or injected SOAP fault.
type Fault struct {
	Status int    // HTTP status, 500 unless said otherwise
	Code   string // the service's fault code
	Msg    string
	Server bool // soapenv:Server (our fault) rather than soapenv:Client
}

// repeat wraps the answer to a request that is new by message id but repeats
// something already processed (ЕГР ЗАГС: the same series and number): it is
// counted as a duplicate, not as unique work.
type repeat struct{ payload any }

// operation is what a peer does with a decoded request: the key that
// identifies a repeat ("" for operations that need no dedupe) and the work.
type operation func(r *soapx.Request) (key string, exec func() (any, *Fault), err error)

// Peer is the machinery every simulator shares.
type Peer struct {
	Name string
	Log  *slog.Logger
	// NewFault wraps a code and message in the service's ServiceFault type.
	NewFault func(code, msg string) any

	schema *xsdcheck.Schema // the contract every request is checked against

	mu       sync.Mutex
	ops      map[string]operation
	faults   map[string]Faults
	counters map[string]*Counters
	answers  map[string][]byte // op + "\x00" + key → the original answer
	rng      *rand.Rand
	mux      *http.ServeMux
}

// schemas are the contracts in package wsdl, loaded once. A contract the
// validator cannot read entirely is a bug in the contract or the validator:
// newPeer panics on it rather than serve half-checked requests.
var schemas = sync.OnceValues(func() (map[string]*xsdcheck.Schema, error) {
	out := map[string]*xsdcheck.Schema{}
	for _, svc := range wsdl.Services {
		s, err := xsdcheck.Load(wsdl.FS, svc+"/"+svc+".xsd")
		if err != nil {
			return nil, err
		}
		out[svc] = s
	}
	return out, nil
})

func newPeer(name string, newFault func(code, msg string) any) *Peer {
	all, err := schemas()
	if err != nil {
		panic(fmt.Sprintf("sim: %v", err))
	}
	if all[name] == nil {
		panic(fmt.Sprintf("sim: no contract for peer %q", name))
	}
	p := &Peer{
		Name: name, NewFault: newFault, Log: slog.New(slog.DiscardHandler), schema: all[name],
		ops: map[string]operation{}, faults: map[string]Faults{}, counters: map[string]*Counters{},
		answers: map[string][]byte{}, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42)), mux: http.NewServeMux(),
	}
	p.mux.HandleFunc("POST /soap", p.serveSOAP)
	p.mux.HandleFunc("GET /soap", p.serveWSDL)
	p.mux.HandleFunc("GET /"+name+".xsd", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(wsdl.FS, name+"/"+name+".xsd")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(b)
	})
	p.mux.HandleFunc("GET /control/counters", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, p.Counters()) })
	p.mux.HandleFunc("GET /control/faults", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		writeJSON(w, p.faults)
	})
	p.mux.HandleFunc("PUT /control/faults", func(w http.ResponseWriter, r *http.Request) {
		var f map[string]Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&f); err != nil {
			http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		p.SetFaults(f)
		writeJSON(w, f)
	})
	p.mux.HandleFunc("POST /control/reset", func(w http.ResponseWriter, r *http.Request) {
		p.ResetCounters()
		writeJSON(w, map[string]string{"status": "reset"})
	})
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Peer) handle(op string, f operation) { p.ops[op] = f }

// ServeHTTP implements http.Handler.
func (p *Peer) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// SetFaults replaces the fault injection ("*" applies to operations without their own entry).
func (p *Peer) SetFaults(f map[string]Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = map[string]Faults{}
	for k, v := range f {
		p.faults[k] = v
	}
}

// Counters returns a copy of the counters by operation.
func (p *Peer) Counters() map[string]Counters {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]Counters{}
	for k, c := range p.counters {
		cc := *c
		cc.Faults = map[string]int{}
		for fk, fv := range c.Faults {
			cc.Faults[fk] = fv
		}
		out[k] = cc
	}
	return out
}

// ResetCounters zeroes the counters (not the memory of answers).
func (p *Peer) ResetCounters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counters = map[string]*Counters{}
}

func (p *Peer) counter(op string) *Counters {
	c := p.counters[op]
	if c == nil {
		c = &Counters{Faults: map[string]int{}}
		p.counters[op] = c
	}
	return c
}

// Operations lists the peer's operations, sorted.
func (p *Peer) Operations() []string {
	var out []string
	for k := range p.ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decision is what fault injection chose for one request.
type decision struct {
	latency time.Duration
	kind    string // "", "outage", "http5xx", "transient", "rate_limit", "permanent", "hang"
}

func (p *Peer) decide(op string, now time.Time) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.faults[op]
	if !ok {
		f = p.faults["*"]
	}
	var d decision
	if f.LatencyMax > 0 {
		lo, hi := time.Duration(f.LatencyMin), time.Duration(f.LatencyMax)
		d.latency = lo
		if hi > lo {
			d.latency += time.Duration(p.rng.Int64N(int64(hi - lo)))
		}
	}
	for _, w := range f.Outages {
		if !now.Before(w.Start) && now.Before(w.End) {
			d.kind = "outage"
			return d
		}
	}
	for _, c := range []struct {
		rate float64
		kind string
	}{{f.HTTP5xx, "http5xx"}, {f.Transient, "transient"}, {f.RateLimit, "rate_limit"}, {f.Permanent, "permanent"}, {f.Hang, "hang"}} {
		if c.rate > 0 && p.rng.Float64() < c.rate {
			d.kind = c.kind
			return d
		}
	}
	return d
}

// soapAddress is the WSDL's endpoint, rewritten per request.
var soapAddress = regexp.MustCompile(`(<soap:address location=")[^"]*(")`)

// serveWSDL answers GET /soap?wsdl (or ?WSDL) with the contract, its
// soap:address pointing at this server's /soap as the client reached it.
// The WSDL includes <svc>.xsd by a relative schemaLocation, which resolves
// against /soap?wsdl to /<svc>.xsd, served next to it: no rewriting needed.
func (p *Peer) serveWSDL(w http.ResponseWriter, r *http.Request) {
	asked := false
	for k := range r.URL.Query() {
		asked = asked || strings.EqualFold(k, "wsdl")
	}
	if !asked {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST a SOAP 1.1 request here, or GET ?wsdl for the contract", http.StatusMethodNotAllowed)
		return
	}
	b, err := fs.ReadFile(wsdl.FS, p.Name+"/"+p.Name+".wsdl")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if len(soapAddress.FindAllIndex(b, -1)) != 1 {
		http.Error(w, "the "+p.Name+" contract has no single soap:address", http.StatusInternalServerError)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	b = soapAddress.ReplaceAll(b, []byte("${1}"+scheme+"://"+r.Host+"/soap${2}"))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b)
}

// validate checks that the Body holds the operation's request element and
// that it satisfies the contract's XSD, as a schema-validating peer does
// before it reads the request.
func (p *Peer) validate(req *soapx.Request) error {
	if want := req.Operation + "Request"; req.Payload.Name.Space != p.schema.NS || req.Payload.Name.Local != want {
		return fmt.Errorf("operation %s takes {%s}%s, the Body holds {%s}%s", req.Operation, p.schema.NS, want, req.Payload.Name.Space, req.Payload.Name.Local)
	}
	dec, start, err := req.PayloadDecoder()
	if err != nil {
		return err
	}
	if err := p.schema.ValidateElement(dec, start); err != nil {
		return fmt.Errorf("the request breaks the schema: %w", err)
	}
	return nil
}

func (p *Peer) writeFault(w http.ResponseWriter, f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b, err := soapx.MarshalFault(f.Server, f.Code+": "+f.Msg, p.NewFault(f.Code, f.Msg))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	soapx.WriteRaw(w, status, b)
}

func (p *Peer) serveSOAP(w http.ResponseWriter, r *http.Request) {
	req, err := soapx.ReadRequest(r)
	if errors.Is(err, soapx.ErrVersionMismatch) {
		// SOAP 1.1 §4.4.1: no detail, since the Body was never looked at.
		b, merr := soapx.MarshalFaultCode(soapx.FaultVersionMismatch, "this service speaks SOAP 1.1 only (envelope namespace "+soapx.EnvelopeNS+")", nil)
		if merr != nil {
			http.Error(w, merr.Error(), http.StatusInternalServerError)
			return
		}
		soapx.WriteRaw(w, http.StatusInternalServerError, b)
		return
	}
	if err != nil {
		p.writeFault(w, &Fault{Code: "VALIDATION_ERROR", Msg: err.Error()})
		return
	}
	op, ok := p.ops[req.Operation]
	if !ok {
		p.writeFault(w, &Fault{Code: "VALIDATION_ERROR", Msg: fmt.Sprintf("unknown operation %q", req.Operation)})
		return
	}
	now := time.Now()
	d := p.decide(req.Operation, now)
	p.mu.Lock()
	c := p.counter(req.Operation)
	c.Received++
	if d.kind != "" && d.kind != "hang" {
		c.Faults[d.kind]++
	}
	p.mu.Unlock()
	if d.latency > 0 {
		select {
		case <-time.After(d.latency):
		case <-r.Context().Done():
			return
		}
	}
	switch d.kind {
	case "outage":
		p.writeFault(w, &Fault{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Msg: "the service is down for maintenance", Server: true})
		return
	case "http5xx":
		http.Error(w, "502 Bad Gateway (injected)", http.StatusBadGateway)
		return
	case "transient":
		p.writeFault(w, &Fault{Code: "INTERNAL_ERROR", Msg: "temporary failure (injected)", Server: true})
		return
	case "rate_limit":
		p.writeFault(w, &Fault{Code: "RATE_LIMIT", Msg: "too many requests, retry in a minute (injected)", Server: true})
		return
	case "permanent":
		p.writeFault(w, &Fault{Code: "VALIDATION_ERROR", Msg: "request refused (injected)"})
		return
	}
	if err := p.validate(req); err != nil {
		p.mu.Lock()
		c.Faults["invalid"]++
		p.mu.Unlock()
		p.writeFault(w, &Fault{Code: "VALIDATION_ERROR", Msg: err.Error()})
		return
	}
	key, exec, err := op(req)
	if err != nil {
		p.mu.Lock()
		c.Faults["refused"]++
		p.mu.Unlock()
		p.writeFault(w, &Fault{Code: "VALIDATION_ERROR", Msg: err.Error()})
		return
	}
	answer, status := p.answer(req.Operation, key, exec, c)
	if d.kind == "hang" {
		p.mu.Lock()
		c.Faults["hang"]++
		p.mu.Unlock()
		hangUntilGone(r.Context())
		return
	}
	soapx.WriteRaw(w, status, answer)
}

// answer runs exec once per key and remembers the answer; repeats get it back.
// Business faults are not remembered: a refused request was not processed.
func (p *Peer) answer(op, key string, exec func() (any, *Fault), c *Counters) ([]byte, int) {
	mkey := op + "\x00" + key
	p.mu.Lock()
	if key != "" {
		if b, ok := p.answers[mkey]; ok {
			c.Duplicates++
			p.mu.Unlock()
			return b, http.StatusOK
		}
	}
	// Hold the lock through exec: simulators are not the bottleneck, and it
	// makes "processed once per key" trivially true under concurrent repeats.
	defer p.mu.Unlock()
	payload, fault := exec()
	if fault != nil {
		c.Faults["refused"]++
		status := fault.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		b, err := soapx.MarshalFault(fault.Server, fault.Code+": "+fault.Msg, p.NewFault(fault.Code, fault.Msg))
		if err != nil {
			return []byte(err.Error()), http.StatusInternalServerError
		}
		return b, status
	}
	if r, ok := payload.(repeat); ok {
		payload = r.payload
		c.Duplicates++
	} else {
		c.Unique++
	}
	b, err := soapx.Marshal(payload)
	if err != nil {
		return []byte(err.Error()), http.StatusInternalServerError
	}
	if key != "" {
		p.answers[mkey] = b
	}
	return b, http.StatusOK
}

// hangUntilGone holds a request open until the client gives up (or 10 minutes).
func hangUntilGone(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Minute):
	}
}
