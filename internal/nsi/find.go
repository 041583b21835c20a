package nsi

import (
	"slices"
	"sort"
)

// KindsOf returns the kinds a document of НСИ 1522 type typeCode
// (ClinicalDocument/code/@code) with templateId root templateRoot may be,
// sorted by kind code: what the door would accept under each declared kind.
// Usually one; several kinds share a type and a guide edition (76, the birth
// certificate, and 118, its paper-form twin), so the caller decides among them
// (`hub validate` prefers the kind valid on the document's date that has an
// official schematron, and asks for -kind when that is still not one).
func KindsOf(typeCode, templateRoot string) []*Kind {
	var out []*Kind
	for _, k := range kinds {
		if slices.Contains(k.typeCodes, typeCode) && slices.Contains(k.roots, templateRoot) {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}
