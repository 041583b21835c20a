package sim

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/emdhub/hub/adapters/provider"
	"github.com/emdhub/hub/adapters/provider/providersoap"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
)

// Provider simulates a МИС that serves its documents to the hub. It serves a
// configurable document set; a document it does not hold gets the permanent
// NOT_FOUND fault, and a document can be set to fail (SERVICE_UNAVAILABLE)
// its first N requests, or always.
type Provider struct {
	*Peer
	docs     map[string]*providedDoc
	requests map[string]int // per document key
}

type providedDoc struct {
	doc       signed.Document
	failFirst int  // fail this many requests first
	failAll   bool // fail every request
}

// NewProvider returns a МИС provider simulator.
func NewProvider() *Provider {
	p := &Provider{Peer: newPeer("provider", func(code, msg string) any {
		c := providersoap.FaultCode(code)
		return &providersoap.ServiceFault{Code: &c, Message: msg}
	}), docs: map[string]*providedDoc{}, requests: map[string]int{}}
	p.handle("GetDocument", p.get)
	p.mux.HandleFunc("POST /control/documents", p.controlAdd)
	return p
}

// Add puts documents in the set. failFirst > 0 makes each fail its first
// failFirst requests with SERVICE_UNAVAILABLE; failFirst < 0 fails them always.
func (p *Provider) Add(failFirst int, docs ...signed.Document) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range docs {
		pd := &providedDoc{doc: d, failFirst: failFirst, failAll: failFirst < 0}
		p.docs[d.Key()] = pd
	}
}

// Requests returns how many times a document was asked for.
func (p *Provider) Requests(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[key]
}

// ControlDocument is the JSON body of POST /control/documents.
type ControlDocument struct {
	Kind       string `json:"kind"`
	Root       string `json:"root"`
	Extension  string `json:"extension"`
	Content    []byte `json:"content"` // base64 in JSON
	Signatures []struct {
		Role string `json:"role"`
		CMS  []byte `json:"cms"`
	} `json:"signatures"`
	FailFirst int `json:"fail_first"`
}

func (p *Provider) controlAdd(w http.ResponseWriter, r *http.Request) {
	var in []ControlDocument
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<20)).Decode(&in); err != nil {
		http.Error(w, "documents: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, c := range in {
		d := signed.Document{Kind: c.Kind, Root: c.Root, Extension: c.Extension, Content: c.Content}
		for _, s := range c.Signatures {
			d.Signatures = append(d.Signatures, signed.Signature{Role: s.Role, CMS: s.CMS})
		}
		p.Add(c.FailFirst, d)
	}
	writeJSON(w, map[string]int{"added": len(in)})
}

func (p *Provider) get(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req providersoap.GetDocumentRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	if req.CDAIDRoot == nil || req.CDAIDExtension == nil {
		return "", nil, fmt.Errorf("CDAIDRoot and CDAIDExtension are required")
	}
	key := string(*req.CDAIDRoot) + "^" + string(*req.CDAIDExtension)
	// Reads are not deduplicated: serving a document twice is harmless, and
	// the hub's fetch retries must each reach the МИС.
	return "", func() (any, *Fault) {
		p.requests[key]++
		d, ok := p.docs[key]
		if !ok {
			return nil, &Fault{Code: "NOT_FOUND", Msg: fmt.Sprintf("this МИС holds no document %s", key)}
		}
		if d.failAll || p.requests[key] <= d.failFirst {
			return nil, &Fault{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Msg: "the document archive is not responding", Server: true}
		}
		return &providersoap.GetDocumentResponse{Document: provider.ToWire(d.doc)}, nil
	}, nil
}
