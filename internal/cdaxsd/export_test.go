package cdaxsd

import "github.com/emdhub/hub/internal/schematron"

// GoTree is the pure-Go validator's walk of the tree alone: nil (valid) or
// xsdgo.ErrUndecided.
func (s *Schema) GoTree(doc []byte, d *schematron.Document) error { return s.g.ValidateTree(doc, d) }

// SetFast switches the streaming first pass (benchmarks compare both).
func SetFast(on bool) (was bool) { was, fast = fast, on; return was }

// SetGo switches the pure-Go verdict on valid documents (libxml2 alone when off).
func SetGo(on bool) (was bool) { was, useGo = useGo, on; return was }
