package intake

import (
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
)

// kindRules is what the door enforces for one kind, read once per document
// so the stages of one check see the same kind set even if an operator's
// bundle is activated meanwhile.
type kindRules struct {
	Schematron *schematron.Schema // nil: the kind has none
	XSD        kinds.Validator    // nil: the kind has none
	Books      refbook.Settings   // the bundle's books.json; nil without a bundle
}

// rulesOf is the kind's rules in force: the kinds registry's set when the
// service has one (run-time kind bundles, overlaid on what the hub started
// with), else the fixed sets it was built with. A bundle without xsd/
// replaces the schematron and keeps the kind's schema from HUB_XSD_DIR or
// the bundled ones.
func (s *Service) rulesOf(kind string) kindRules {
	var r kindRules
	if s.Kinds != nil {
		if set := s.Kinds.Lookup(kind); set != nil {
			r = kindRules{Schematron: set.Schematron, XSD: set.XSD, Books: set.Books}
		}
	} else {
		r.Schematron = s.Schematrons[kind]
	}
	if r.XSD == nil {
		if x := s.XSD[kind]; x != nil {
			r.XSD = x
		}
	}
	return r
}
