// Package semd reads the header of a СЭМД (HL7 CDA R2, Russian profile) and
// runs the hub's door checks on it (ФЛК level 1: the У1 header rules of the
// official schematrons, identifier structure and check digits, and the
// НСИ 1520 rules for the declared kind).
//
// Parsing is done with encoding/xml, which expands no external entities and
// no DTD-defined entities; documents that carry a DOCTYPE are refused anyway,
// so that no parser downstream ever sees one. The structure is bounded while
// it is read (Limits: depth, attributes, attribute size, elements), so a
// hostile document is refused after little work, and LINKDOCS duplicates are
// merged and the links capped.
package semd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/codes"
)

// Root OIDs used in headers.
const (
	SNILSRoot      = "1.2.643.100.3"
	MinzdravRoot   = "1.2.643.5.1.13"
	TypeIDRoot     = "2.16.840.1.113883.1.3"
	TypeIDExt      = "POCD_MT000040"
	DocTypeSystem  = "1.2.643.5.1.13.13.11.1522"
	CodesSystemOID = "1.2.643.5.1.13.13.99.2.166" // НСИ "Кодируемые поля CDA документов"
)

// DocTypeSystems are the code systems SCH121 У1-13 accepts for ClinicalDocument/code.
var DocTypeSystems = []string{"1.2.643.5.1.13.13.11.1522", "1.2.643.5.1.13.2.1.1.646", "1.2.643.5.1.13.13.11.1115", "1.2.643.5.1.13.13.99.2.195"}

// II is an HL7 instance identifier.
type II struct {
	Root      string `json:"root"`
	Extension string `json:"extension,omitempty"`
}

func (i II) String() string {
	if i.Extension == "" {
		return i.Root
	}
	return i.Root + "^" + i.Extension
}

// Code is an HL7 coded value.
type Code struct {
	Code        string `json:"code"`
	System      string `json:"system,omitempty"`
	Version     string `json:"version,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// Person is an author or legal authenticator.
type Person struct {
	LocalID      II     `json:"local_id"`
	SNILS        string `json:"snils,omitempty"`
	Family       string `json:"family,omitempty"`
	Given        string `json:"given,omitempty"`
	Patronymic   string `json:"patronymic,omitempty"`
	PositionCode string `json:"position_code,omitempty"`
}

// Patient is the recordTarget/patientRole.
type Patient struct {
	LocalID        II     `json:"local_id"`
	SNILS          string `json:"snils,omitempty"`
	ENP            string `json:"enp,omitempty"`
	PolicyType     string `json:"policy_type,omitempty"`
	PolicySeries   string `json:"policy_series,omitempty"`
	PolicyNumber   string `json:"policy_number,omitempty"`
	Family         string `json:"family,omitempty"`
	Given          string `json:"given,omitempty"`
	Patronymic     string `json:"patronymic,omitempty"`
	Gender         string `json:"gender,omitempty"`
	BirthDate      string `json:"birth_date,omitempty"`
	ProviderOrgOID string `json:"provider_org_oid,omitempty"`
	ProviderOGRN   string `json:"provider_ogrn,omitempty"`
}

// Org is an organisation named in the header.
type Org struct {
	OID  string `json:"oid"`
	Name string `json:"name,omitempty"`
	OGRN string `json:"ogrn,omitempty"`
}

// LinkDoc is one entry of the MSE referral's LINKDOCS section: a linked СЭМД
// the bureau needs in the package.
type LinkDoc struct {
	DocType string `json:"doc_type"`         // НСИ 1522 type of the linked document
	Date    string `json:"date,omitempty"`   // its effectiveTime
	Series  string `json:"series,omitempty"` // 11002
	Number  string `json:"number,omitempty"` // 11003
	Ref     II     `json:"ref"`              // its ClinicalDocument/id
}

// Document is the parsed header of a СЭМД.
type Document struct {
	RealmCode          string    `json:"realm_code,omitempty"`
	TypeID             II        `json:"type_id"`
	TemplateIDs        []string  `json:"template_ids"`
	ID                 II        `json:"id"`
	IDCount            int       `json:"-"`
	Code               Code      `json:"code"`
	Title              string    `json:"title"`
	EffectiveTimeRaw   string    `json:"effective_time_raw"`
	EffectiveTime      time.Time `json:"effective_time"`
	LanguageCode       string    `json:"language_code,omitempty"`
	SetID              II        `json:"set_id"`
	VersionNumber      int       `json:"version_number"`
	VersionNumberRaw   string    `json:"-"`
	Patient            *Patient  `json:"patient,omitempty"`
	Author             *Person   `json:"author,omitempty"`
	LegalAuthenticator *Person   `json:"legal_authenticator,omitempty"`
	Custodian          Org       `json:"custodian"`
	Recipient          *Org      `json:"recipient,omitempty"`
	Series             string    `json:"series,omitempty"`
	Number             string    `json:"number,omitempty"`
	InFulfillmentOf    []II      `json:"in_fulfillment_of,omitempty"` // orders (e.g. the MSE referral) this document answers
	Sections           []string  `json:"sections,omitempty"`
	LinkDocs           []LinkDoc `json:"link_docs,omitempty"`

	// effectiveErr is kept for Check: the raw value did not parse.
	effectiveErr error
}

// ParseError is a document that cannot be read as a CDA document at all,
// or that crosses the door's limits.
type ParseError struct {
	// Code is INVALID_CONTENT (not well-formed XML), INVALID_DOC_CONTENT_TYPE
	// (not a ClinicalDocument), XML_LIMIT_EXCEEDED (see Limits) or
	// TOO_MANY_LINKS (more distinct LINKDOCS entries than Limits.MaxLinks).
	Code    string
	Message string
	Path    string // where a limit was crossed, element names as written
}

func (e *ParseError) Error() string { return "semd: " + e.Message }

// Parse reads the CDA header within DefaultLimits; see ParseLimited.
func Parse(b []byte) (*Document, error) { return ParseLimited(b, Limits{}) }

// ParseLimited reads the CDA header. It fails with *ParseError for input
// that is not well-formed XML, carries a DOCTYPE, or whose root is not an
// HL7 v3 ClinicalDocument, and for a document over lim (zero fields:
// DefaultLimits), stopping at the first element that crosses one. Duplicate
// LINKDOCS entries (the same linked document id) are merged, the first
// kept, before the links are counted.
func ParseLimited(b []byte, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	raw := xml.NewDecoder(bytes.NewReader(b))
	raw.Strict = true
	d := xml.NewTokenDecoder(&limitedTokens{raw: raw, lim: lim})
	doc, err := parse(d)
	if err != nil {
		var le *limitError
		if errors.As(err, &le) {
			return nil, &ParseError{Code: codes.XMLLimitExceeded, Path: le.path, Message: "the document exceeds the hub's XML limits: " + le.Error()}
		}
		return nil, err
	}
	if n := len(doc.LinkDocs); n > lim.MaxLinks {
		return nil, &ParseError{Code: codes.TooManyLinks, Path: "ClinicalDocument/component/structuredBody/component/section[LINKDOCS]",
			Message: fmt.Sprintf("LINKDOCS lists %d distinct documents, more than the %d one referral may link", n, lim.MaxLinks)}
	}
	return doc, nil
}

func parse(d *xml.Decoder) (*Document, error) {
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, &ParseError{Code: codes.InvalidContent, Message: "empty document: no root element"}
			}
			return nil, wrapXMLError("not well-formed XML: ", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, &ParseError{Code: codes.InvalidContent, Message: "DOCTYPE and other directives are not accepted in a СЭМД"}
		case xml.StartElement:
			start = t
		}
		if start.Name.Local != "" {
			break
		}
	}
	if start.Name.Space != NSHL7 || start.Name.Local != "ClinicalDocument" {
		return nil, &ParseError{Code: codes.InvalidDocContentType,
			Message: fmt.Sprintf("root element is {%s}%s, want {%s}ClinicalDocument", start.Name.Space, start.Name.Local, NSHL7)}
	}
	var x xClinicalDocument
	if err := d.DecodeElement(&x, &start); err != nil {
		return nil, wrapXMLError("not well-formed XML: ", err)
	}
	// Anything but whitespace, comments and processing instructions after the root is malformed.
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrapXMLError("not well-formed XML after the root element: ", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, &ParseError{Code: codes.InvalidContent, Message: "text after the root element"}
			}
		case xml.StartElement:
			return nil, &ParseError{Code: codes.InvalidContent, Message: "more than one root element"}
		case xml.Directive:
			return nil, &ParseError{Code: codes.InvalidContent, Message: "DOCTYPE and other directives are not accepted in a СЭМД"}
		}
	}
	return fromXML(&x), nil
}

// wrapXMLError passes a crossed limit through and makes anything else an
// INVALID_CONTENT refusal.
func wrapXMLError(prefix string, err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return le
	}
	return &ParseError{Code: codes.InvalidContent, Message: prefix + err.Error()}
}

func ii(x xII) II {
	return II{Root: strings.TrimSpace(x.Root), Extension: strings.TrimSpace(x.Extension)}
}

func code(x xCD) Code {
	return Code{Code: x.Code, System: x.CodeSystem, Version: x.CodeSystemVersion, DisplayName: x.DisplayName}
}

// splitIDs picks the local id and the СНИЛС out of a person's id list.
func splitIDs(ids []xII) (local II, snils string) {
	for _, id := range ids {
		if id.Root == SNILSRoot {
			snils = strings.TrimSpace(id.Extension)
		} else if local.Root == "" {
			local = ii(id)
		}
	}
	return
}

func fromXML(x *xClinicalDocument) *Document {
	doc := &Document{
		RealmCode:        x.RealmCode.Code,
		TypeID:           ii(x.TypeID),
		Code:             code(x.Code),
		Title:            strings.TrimSpace(x.Title),
		EffectiveTimeRaw: x.EffectiveTime.Value,
		LanguageCode:     x.LanguageCode.Code,
		SetID:            ii(x.SetID),
		VersionNumberRaw: x.VersionNumber.Value,
		IDCount:          len(x.IDs),
	}
	for _, t := range x.TemplateIDs {
		doc.TemplateIDs = append(doc.TemplateIDs, t.Root)
	}
	if len(x.IDs) > 0 {
		doc.ID = ii(x.IDs[0])
	}
	doc.EffectiveTime, doc.effectiveErr = ParseTS(x.EffectiveTime.Value)
	if v, err := strconv.Atoi(x.VersionNumber.Value); err == nil {
		doc.VersionNumber = v
	}
	if len(x.RecordTargets) > 0 {
		pr := x.RecordTargets[0].PatientRole
		p := &Patient{
			Family:     strings.TrimSpace(pr.Patient.Name.Family),
			Given:      strings.TrimSpace(pr.Patient.Name.Given),
			Patronymic: strings.TrimSpace(pr.Patient.Name.Patronymic),
			Gender:     pr.Patient.Gender.Code,
			BirthDate:  pr.Patient.BirthTime.Value,
		}
		p.LocalID, p.SNILS = splitIDs(pr.IDs)
		if p.SNILS == "" { // a newborn or stillborn: the certificate's recipient is the one notified
			for _, pt := range x.Participants {
				if pt.TypeCode == "IRCP" {
					_, p.SNILS = splitIDs(pt.IDs)
				}
			}
		}
		if ip := pr.InsurancePolicy; ip != nil {
			p.PolicyType = ip.Type.Code
			p.PolicySeries = strings.TrimSpace(ip.Series)
			p.PolicyNumber = strings.TrimSpace(ip.Number)
			if isENPPolicy(p.PolicyType) {
				p.ENP = p.PolicyNumber
			}
		}
		if len(pr.ProviderOrganization.IDs) > 0 {
			p.ProviderOrgOID = pr.ProviderOrganization.IDs[0].Root
		}
		p.ProviderOGRN = strings.TrimSpace(pr.ProviderOrganization.Props.Ogrn)
		doc.Patient = p
	}
	if len(x.Authors) > 0 {
		a := x.Authors[0].AssignedAuthor
		p := &Person{Family: a.AssignedPerson.Name.Family, Given: a.AssignedPerson.Name.Given,
			Patronymic: a.AssignedPerson.Name.Patronymic, PositionCode: a.Code.Code}
		p.LocalID, p.SNILS = splitIDs(a.IDs)
		doc.Author = p
	}
	if la := x.LegalAuthenticator.AssignedEntity; len(la.IDs) > 0 {
		p := &Person{Family: la.AssignedPerson.Name.Family, Given: la.AssignedPerson.Name.Given,
			Patronymic: la.AssignedPerson.Name.Patronymic, PositionCode: la.Code.Code}
		p.LocalID, p.SNILS = splitIDs(la.IDs)
		doc.LegalAuthenticator = p
	}
	c := x.Custodian.Org
	doc.Custodian = Org{OID: strings.TrimSpace(c.ID.Root), Name: strings.TrimSpace(c.Name), OGRN: strings.TrimSpace(c.Props.Ogrn)}
	if r := x.InformationRecipient.Org; r.ID.Root != "" {
		doc.Recipient = &Org{OID: strings.TrimSpace(r.ID.Root), Name: strings.TrimSpace(r.Name)}
	}
	for _, f := range x.InFulfillmentOf {
		doc.InFulfillmentOf = append(doc.InFulfillmentOf, ii(f.Order.ID))
	}
	linked := map[II]bool{}
	if len(x.Sections) > 0 {
		doc.Sections = make([]string, 0, len(x.Sections))
	}
	for _, s := range x.Sections {
		doc.Sections = append(doc.Sections, s.Code.Code)
		switch s.Code.Code {
		case "DOCINFO":
			for _, e := range s.Entries {
				if o := e.Observation; o != nil {
					doc.readSeriesNumber(o)
				}
			}
		case "LINKDOCS":
			for _, e := range s.Entries {
				a := e.Act
				if a == nil {
					continue
				}
				l := LinkDoc{DocType: a.Code.Code, Date: a.EffectiveTime.Value, Ref: ii(a.Reference.ExternalDocument.ID)}
				for _, r := range a.Relationships {
					if o := r.Observation; o != nil {
						switch o.Code.Code {
						case "11002":
							l.Series = strings.TrimSpace(o.Value.Text)
						case "11003":
							l.Number = strings.TrimSpace(o.Value.Text)
						}
					}
				}
				if !linked[l.Ref] { // a document linked twice is one link: the first entry is kept
					linked[l.Ref] = true
					doc.LinkDocs = append(doc.LinkDocs, l)
				}
			}
		}
	}
	return doc
}

// Codes of НСИ 1.2.643.5.1.13.13.99.2.166 that carry a certificate's series
// and number: 5013/5014 (death and perinatal death, 58.sch/59.sch У3-1/У3-2),
// 4120/4121 (birth, 76.sch), 11002/11003 (generic).
var (
	seriesCodes = map[string]bool{"5013": true, "4120": true, "11002": true}
	numberCodes = map[string]bool{"5014": true, "4121": true, "11003": true}
)

func (doc *Document) readSeriesNumber(o *xObservation) {
	v := strings.TrimSpace(o.Value.Text)
	if v == "" {
		v = strings.TrimSpace(o.Value.Value)
	}
	switch {
	case seriesCodes[o.Code.Code] && doc.Series == "":
		doc.Series = v
	case numberCodes[o.Code.Code] && doc.Number == "":
		doc.Number = v
	}
}

// isENPPolicy tells whether a policy number is an ЕНП: policies of the
// unified form (НСИ 1035 types 2 and 3) carry the 16-digit ЕНП.
func isENPPolicy(policyType string) bool {
	return policyType == "2" || policyType == "3"
}

// moscow is the zone assumed for day-precision dates (no zone in the value).
var moscow = time.FixedZone("MSK", 3*3600)

// ParseTS parses an HL7 TS as the schematrons allow it (У1-15): day
// precision, or minutes/seconds with a +HHMM zone.
func ParseTS(v string) (time.Time, error) {
	switch len(v) {
	case 8:
		return time.ParseInLocation("20060102", v, moscow)
	case 17:
		return time.Parse("200601021504-0700", v)
	case 19:
		return time.Parse("20060102150405-0700", v)
	}
	return time.Time{}, fmt.Errorf("semd: time %q is neither YYYYMMDD nor YYYYMMDDHHMM[SS]+ZZZZ", v)
}
