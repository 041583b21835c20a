package intake

import (
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
)

// schematronOf is the ФЛК level 1 schematron in force for a kind: the
// kinds registry's when the service has one (run-time kind bundles), else
// the fixed set it was built with; nil when the kind has none.
func (s *Service) schematronOf(kind string) *schematron.Schema {
	if s.Kinds != nil {
		return s.Kinds.Schematron(kind)
	}
	return s.Schematrons[kind]
}

// booksOf is the per-book settings of the kind's bundle in force (its
// books.json), applied on top of the hub's own; nil without a bundle.
func (s *Service) booksOf(kind string) refbook.Settings {
	if s.Kinds == nil {
		return nil
	}
	if set := s.Kinds.Lookup(kind); set != nil {
		return set.Books
	}
	return nil
}

// xsdOf is the XSD in force for a kind: the kind bundle's when it carries
// one, else the hub's (HUB_XSD_DIR or the bundled ones), so a bundle
// without xsd/ replaces the schematron and keeps the kind's schema; nil
// when the kind has none.
func (s *Service) xsdOf(kind string) kinds.Validator {
	if s.Kinds != nil {
		if set := s.Kinds.Lookup(kind); set != nil && set.XSD != nil {
			return set.XSD
		}
	}
	if x := s.XSD[kind]; x != nil {
		return x
	}
	return nil
}
