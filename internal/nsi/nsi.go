// Package nsi holds the reference dictionaries the hub checks documents
// against: the kinds of НСИ 1.2.643.5.1.13.13.11.1520 (v12.14) joined with
// the document types of НСИ 1.2.643.5.1.13.13.11.1522 (v7.24).
//
// The table is generated from the official FNSI exports (see gen.go) and
// embedded, so the hub needs no network and no files at run time.
package nsi

//go:generate go run gen.go

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Patient information requirement values of НСИ 1520 PATIENT_INFO.
const (
	PatientInfoWithSNILS = "Обязательны с указанием СНИЛС"
	PatientInfoRequired  = "Обязательны"
	PatientInfoOptional  = "Не обязательны"
)

// Kind is one row of НСИ 1520 with what the hub needs of its НСИ 1522 type.
type Kind struct {
	Kind           string `json:"kind"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	TypeName       string `json:"type_name"`
	TypeOID        string `json:"type_oid"`
	PatientInfo    string `json:"patient_info"`
	MOSign         bool   `json:"mo_sign"`
	Guide          string `json:"guide"`
	SeriesRequired bool   `json:"series_required"`
	Start          string `json:"start"`
	End            string `json:"end,omitempty"`

	start, end time.Time
	roots      []string // TemplateRoots, computed at load
	typeCodes  []string // DocumentTypeCodes, computed at load
}

//go:embed kinds.json
var kindsJSON []byte

var kinds map[string]*Kind

func init() {
	var list []*Kind
	if err := json.Unmarshal(kindsJSON, &list); err != nil {
		panic(fmt.Sprintf("nsi: embedded kinds.json: %v", err))
	}
	kinds = make(map[string]*Kind, len(list))
	for _, k := range list {
		var err error
		if k.start, err = time.Parse("02.01.2006", k.Start); err != nil {
			panic(fmt.Sprintf("nsi: kind %s start %q: %v", k.Kind, k.Start, err))
		}
		if k.End != "" {
			if k.end, err = time.Parse("02.01.2006", k.End); err != nil {
				panic(fmt.Sprintf("nsi: kind %s end %q: %v", k.Kind, k.End, err))
			}
		}
		k.roots, k.typeCodes = k.templateRoots(), k.documentTypeCodes()
		kinds[k.Kind] = k
	}
}

// LookupKind returns the НСИ 1520 row for a kind code ("121").
func LookupKind(code string) (*Kind, bool) {
	k, ok := kinds[code]
	return k, ok
}

// ValidOn reports whether the kind may be used for a document created on d
// (NO_DOCUMENT_KIND_ON_DATE otherwise). Dates compare by calendar day.
func (k *Kind) ValidOn(d time.Time) bool {
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	if day.Before(k.start) {
		return false
	}
	return k.end.IsZero() || !day.After(k.end)
}

// SNILSRequired reports whether the patient's СНИЛС is mandatory (NO_SNILS).
func (k *Kind) SNILSRequired() bool { return k.PatientInfo == PatientInfoWithSNILS }

// Edition is the guide edition: the last component of GIT_LINK
// (1.2.643.5.1.13.13.15.4.6 → "6").
func (k *Kind) Edition() string {
	if i := strings.LastIndexByte(k.Guide, '.'); i >= 0 {
		return k.Guide[i+1:]
	}
	return ""
}

// paperTwin lists the НСИ 1522 types whose templates an official schematron
// accepts in place of the kind's own type: the death (13) and perinatal death
// (14) certificate schematrons also accept the 353/354 "paper form" templates
// (58.sch У1-6, 59.sch У1-6).
var paperTwin = map[string]string{"13": "353", "14": "354"}

// TemplateRoots returns the templateId roots a document of this kind may carry:
// <type OID>.9.<edition>, in both the 1522 OID form and the newer
// 1.2.643.5.1.13.13.14.<type> form. The slice is shared: do not modify it.
func (k *Kind) TemplateRoots() []string { return k.roots }

func (k *Kind) templateRoots() []string {
	ed := k.Edition()
	types := []string{k.Type}
	if t, ok := paperTwin[k.Type]; ok {
		types = append(types, t)
	}
	var roots []string
	seen := map[string]bool{}
	add := func(r string) {
		if !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	if k.TypeOID != "" {
		add(k.TypeOID + ".9." + ed)
	}
	for _, t := range types {
		add("1.2.643.5.1.13.13.14." + t + ".9." + ed)
		add("1.2.643.5.1.13.2.7.5.1." + t + ".9." + ed)
	}
	return roots
}

// TemplateRoot is the canonical templateId root for new documents of this kind.
func (k *Kind) TemplateRoot() string { return k.TemplateRoots()[0] }

// DocumentTypeCodes returns the ClinicalDocument/code values allowed for the
// kind. The slice is shared: do not modify it.
func (k *Kind) DocumentTypeCodes() []string { return k.typeCodes }

func (k *Kind) documentTypeCodes() []string {
	if t, ok := paperTwin[k.Type]; ok {
		return []string{k.Type, t}
	}
	return []string{k.Type}
}
