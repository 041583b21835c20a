package sim

import (
	"fmt"
	"net/http"
	"sort"
)

// Set is every simulated peer, for `hub sim`, the demo and tests.
type Set struct {
	Bureau   *Bureau
	Registry *Registry
	Portal   *Portal
	Provider *Provider
	Policy   *PolicyRegistry
}

// NewSet builds all five simulators.
func NewSet() *Set {
	return &Set{Bureau: NewBureau(), Registry: NewRegistry(), Portal: NewPortal(), Provider: NewProvider(), Policy: NewPolicyRegistry()}
}

// Handlers returns each peer's handler by name (mse, zags, epgu, provider, policy).
func (s *Set) Handlers() map[string]http.Handler {
	return map[string]http.Handler{"mse": s.Bureau, "zags": s.Registry, "epgu": s.Portal, "provider": s.Provider, "policy": s.Policy}
}

func (s *Set) peers() map[string]*Peer {
	return map[string]*Peer{"mse": s.Bureau.Peer, "zags": s.Registry.Peer, "epgu": s.Portal.Peer, "provider": s.Provider.Peer, "policy": s.Policy.Peer}
}

// Names lists the peers in a stable order.
func (s *Set) Names() []string {
	var out []string
	for k := range s.peers() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ApplyFaults sets fault injection from ParseFaultSpec's result.
func (s *Set) ApplyFaults(spec map[string]map[string]Faults) error {
	peers := s.peers()
	for name, f := range spec {
		p, ok := peers[name]
		if !ok {
			return fmt.Errorf("sim: no peer %q (have mse, zags, epgu, provider, policy)", name)
		}
		for op := range f {
			if _, ok := p.ops[op]; !ok && op != "*" {
				return fmt.Errorf("sim: peer %s has no operation %q (have %v)", name, op, p.Operations())
			}
		}
		p.SetFaults(f)
	}
	return nil
}

// Counters returns every peer's counters.
func (s *Set) Counters() map[string]map[string]Counters {
	out := map[string]map[string]Counters{}
	for name, p := range s.peers() {
		out[name] = p.Counters()
	}
	return out
}
