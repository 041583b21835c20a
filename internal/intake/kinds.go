package intake

import "github.com/emdhub/hub/internal/schematron"

// schematronOf is the ФЛК level 1 schematron in force for a kind: the
// kinds registry's when the service has one (run-time kind bundles), else
// the fixed set it was built with; nil when the kind has none.
func (s *Service) schematronOf(kind string) *schematron.Schema {
	if s.Kinds != nil {
		return s.Kinds.Schematron(kind)
	}
	return s.Schematrons[kind]
}
