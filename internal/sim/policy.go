package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/emdhub/hub/adapters/policy/policysoap"
	"github.com/emdhub/hub/internal/soapx"
)

// PolicyRegistry simulates the ОМС policy registry: it knows the policies
// added with Add (or POST /control/policies) and answers NOT_FOUND for
// anyone else.
type PolicyRegistry struct {
	*Peer
	bySNILS map[string]*policyRecord
	byENP   map[string]*policyRecord
}

type policyRecord struct {
	snils, enp, insurer string
	active              bool
}

// NewPolicyRegistry returns a policy registry simulator.
func NewPolicyRegistry() *PolicyRegistry {
	p := &PolicyRegistry{Peer: newPeer("policy", func(code, msg string) any {
		c := policysoap.FaultCode(code)
		return &policysoap.ServiceFault{Code: &c, Message: msg}
	}), bySNILS: map[string]*policyRecord{}, byENP: map[string]*policyRecord{}}
	p.handle("FindPolicy", p.find)
	p.mux.HandleFunc("POST /control/policies", p.controlAdd)
	return p
}

// ControlPolicy is what POST /control/policies takes — one such object,
// or a JSON array of them — the registry's counterpart of the provider's
// /control/documents.
type ControlPolicy struct {
	SNILS   string `json:"snils"`   // 11 digits
	ENP     string `json:"enp"`     // 16 digits
	Insurer string `json:"insurer"` // optional
	Active  bool   `json:"active"`
}

var (
	snilsRE = regexp.MustCompile(`^[0-9]{11}$`)
	enpRE   = regexp.MustCompile(`^[0-9]{16}$`)
)

// controlAdd seeds policies. The whole batch is refused (400, nothing
// added) if any entry has a СНИЛС or ЕНП the contract could not carry.
func (p *PolicyRegistry) controlAdd(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		http.Error(w, "policies: "+err.Error(), http.StatusBadRequest)
		return
	}
	var in []ControlPolicy
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' { // one policy
		var one ControlPolicy
		err = json.Unmarshal(t, &one)
		in = []ControlPolicy{one}
	} else {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		http.Error(w, "policies: "+err.Error(), http.StatusBadRequest)
		return
	}
	for i, c := range in {
		if !snilsRE.MatchString(c.SNILS) || !enpRE.MatchString(c.ENP) {
			http.Error(w, fmt.Sprintf("policies[%d]: want snils of 11 digits and enp of 16 digits", i), http.StatusBadRequest)
			return
		}
	}
	for _, c := range in {
		p.Add(c.SNILS, c.ENP, c.Insurer, c.Active)
	}
	writeJSON(w, map[string]int{"added": len(in)})
}

// Add registers a policy.
func (p *PolicyRegistry) Add(snils, enp, insurer string, active bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &policyRecord{snils: snils, enp: enp, insurer: insurer, active: active}
	p.bySNILS[snils], p.byENP[enp] = r, r
}

func (p *PolicyRegistry) find(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req policysoap.FindPolicyRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	if (req.SNILS == nil) == (req.ENP == nil) {
		return "", nil, fmt.Errorf("give exactly one of SNILS or ENP")
	}
	return "", func() (any, *Fault) {
		var rec *policyRecord
		if req.SNILS != nil {
			rec = p.bySNILS[string(*req.SNILS)]
		} else {
			rec = p.byENP[string(*req.ENP)]
		}
		if rec == nil {
			return nil, &Fault{Code: "NOT_FOUND", Msg: "no policy registered for this person"}
		}
		s, e := policysoap.SNILS(rec.snils), policysoap.ENP(rec.enp)
		st := policysoap.PolicyStatusACTIVE
		if !rec.active {
			st = policysoap.PolicyStatusINACTIVE
		}
		return &policysoap.FindPolicyResponse{SNILS: &s, ENP: &e, Status: &st, InsurerName: rec.insurer}, nil
	}, nil
}
