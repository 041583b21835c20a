package sim

import (
	"fmt"

	"github.com/emdhub/hub/adapters/policy/policysoap"
	"github.com/emdhub/hub/internal/soapx"
)

// PolicyRegistry simulates the ОМС policy registry: it knows the policies
// added with Add and answers NOT_FOUND for anyone else.
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
	return p
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
