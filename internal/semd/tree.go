package semd

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emdhub/hub/internal/codes"
)

// Tree is a document already parsed by a parser the door trusts to accept
// only what ParseLimited's encoding/xml accepts (the schematron engine's fast
// DOM): FromTree reads the header from it instead of parsing the bytes a
// second time (issue 16, "parse each document once"). Ids are the tree's
// node numbers; -1 is "none".
type Tree interface {
	Root() int32                                             // the document element
	Name(id int32) (ns, local string)                        // an element's expanded name
	FirstChild(id int32) int32                               // first element or text child
	Next(id int32) int32                                     // next element or text sibling
	IsElement(id int32) bool                                 // element (else text)
	Text(id int32) string                                    // a text node's value
	Attr(id int32, i int) (ns, local, value string, ok bool) // i-th attribute, declarations excluded
	Prefixes() []string                                      // namespace prefixes declared anywhere
}

// ErrUndecided is FromTree declining a document whose header it cannot be
// sure to read as ParseLimited does: the caller parses the bytes instead.
var ErrUndecided = errors.New("semd: header not readable from the tree")

// FromTree reads the header from t exactly as ParseLimited reads it from
// the bytes t was parsed from, under lim (zero fields: DefaultLimits), given
// that the tree's parser accepted the bytes under lim.WithDefaults() (depth,
// attributes, elements: those limits are the parser's). It refuses, with
// ParseLimited's *ParseError, a root that is not an HL7 ClinicalDocument and
// too many LINKDOCS entries. FuzzFromTreeAgrees holds it to ParseLimited.
//
// It mirrors encoding/xml's Unmarshal into the x* types field by field: an
// element field matched twice is read twice into the same value (attributes
// present overwrite, text is replaced), a slice gets one entry per match,
// an attribute without a namespace matches any attribute of that local name
// (the last one wins) — including a namespace declaration xmlns:root, which
// the tree does not keep, so a document declaring a prefix named like an
// attribute the header reads is ErrUndecided.
func FromTree(t Tree, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	for _, p := range t.Prefixes() {
		if headerAttrs[p] {
			return nil, ErrUndecided
		}
	}
	root := t.Root()
	if ns, local := t.Name(root); ns != NSHL7 || local != "ClinicalDocument" {
		return nil, &ParseError{Code: codes.InvalidDocContentType,
			Message: fmt.Sprintf("root element is {%s}%s, want {%s}ClinicalDocument", ns, local, NSHL7)}
	}
	r := treeReader{t}
	var x xClinicalDocument
	r.clinicalDocument(root, &x)
	doc := fromXML(&x)
	if n := len(doc.LinkDocs); n > lim.MaxLinks {
		return nil, &ParseError{Code: codes.TooManyLinks, Path: "ClinicalDocument/component/structuredBody/component/section[LINKDOCS]",
			Message: fmt.Sprintf("LINKDOCS lists %d distinct documents, more than the %d one referral may link", n, lim.MaxLinks)}
	}
	doc.detach()
	return doc, nil
}

// detach gives the header strings of its own, all in one new buffer: the
// tree's values may point into memory the tree reuses for its next
// document (the door's pooled parse, schematron.ParsePooled) or into the
// caller's bytes, and the header outlives both. (effectiveErr needs no
// copy: time.ParseError clones the value it quotes.)
func (doc *Document) detach() {
	n := 0
	doc.eachString(func(s *string) { n += len(*s) })
	if n > 0 {
		var sb strings.Builder
		sb.Grow(n)
		doc.eachString(func(s *string) { sb.WriteString(*s) })
		all := sb.String()
		doc.eachString(func(s *string) {
			k := len(*s)
			*s, all = all[:k], all[k:]
		})
	}
}

// eachString calls f for every string of the header (TestDetachCoversEveryString
// fails when a field is added to Document and not here).
func (doc *Document) eachString(f func(*string)) {
	ii := func(i *II) { f(&i.Root); f(&i.Extension) }
	person := func(p *Person) {
		if p == nil {
			return
		}
		ii(&p.LocalID)
		f(&p.SNILS)
		f(&p.Family)
		f(&p.Given)
		f(&p.Patronymic)
		f(&p.PositionCode)
	}
	org := func(o *Org) {
		if o == nil {
			return
		}
		f(&o.OID)
		f(&o.Name)
		f(&o.OGRN)
	}
	f(&doc.RealmCode)
	ii(&doc.TypeID)
	for i := range doc.TemplateIDs {
		f(&doc.TemplateIDs[i])
	}
	ii(&doc.ID)
	f(&doc.Code.Code)
	f(&doc.Code.System)
	f(&doc.Code.Version)
	f(&doc.Code.DisplayName)
	f(&doc.Title)
	f(&doc.EffectiveTimeRaw)
	f(&doc.LanguageCode)
	ii(&doc.SetID)
	f(&doc.VersionNumberRaw)
	if p := doc.Patient; p != nil {
		ii(&p.LocalID)
		for _, s := range []*string{&p.SNILS, &p.ENP, &p.PolicyType, &p.PolicySeries, &p.PolicyNumber, &p.Family,
			&p.Given, &p.Patronymic, &p.Gender, &p.BirthDate, &p.ProviderOrgOID, &p.ProviderOGRN} {
			f(s)
		}
	}
	person(doc.Author)
	person(doc.LegalAuthenticator)
	org(&doc.Custodian)
	org(doc.Recipient)
	f(&doc.Series)
	f(&doc.Number)
	for i := range doc.InFulfillmentOf {
		ii(&doc.InFulfillmentOf[i])
	}
	for i := range doc.Sections {
		f(&doc.Sections[i])
	}
	for i := range doc.LinkDocs {
		l := &doc.LinkDocs[i]
		f(&l.DocType)
		f(&l.Date)
		f(&l.Series)
		f(&l.Number)
		ii(&l.Ref)
	}
}

// headerAttrs are the attribute names the x* types match in any namespace.
var headerAttrs = map[string]bool{"root": true, "extension": true, "nullFlavor": true, "code": true, "codeSystem": true,
	"codeSystemVersion": true, "displayName": true, "value": true, "typeCode": true}

type treeReader struct{ t Tree }

// each calls f for every child element of id in namespace ns, in order.
func (r treeReader) each(id int32, f func(c int32, ns, local string)) {
	for c := r.t.FirstChild(id); c >= 0; c = r.t.Next(c) {
		if r.t.IsElement(c) {
			ns, local := r.t.Name(c)
			f(c, ns, local)
		}
	}
}

// path calls f for every element reached from id by the HL7 names in steps.
func (r treeReader) path(id int32, f func(c int32), steps ...string) {
	r.each(id, func(c int32, ns, local string) {
		if ns != NSHL7 || local != steps[0] {
			return
		}
		if len(steps) == 1 {
			f(c)
			return
		}
		r.path(c, f, steps[1:]...)
	})
}

// chardata is the element's own character data (its text children, not its
// descendants'), as encoding/xml gives a string field.
func (r treeReader) chardata(id int32) string {
	s := ""
	for c := r.t.FirstChild(id); c >= 0; c = r.t.Next(c) {
		if !r.t.IsElement(c) {
			s += r.t.Text(c)
		}
	}
	return s
}

// attrs calls f for every attribute of id, in order.
func (r treeReader) attrs(id int32, f func(ns, local, v string)) {
	for i := 0; ; i++ {
		ns, local, v, ok := r.t.Attr(id, i)
		if !ok {
			return
		}
		f(ns, local, v)
	}
}

func (r treeReader) ii(id int32, x *xII) {
	r.attrs(id, func(_, local, v string) {
		switch local {
		case "root":
			x.Root = v
		case "extension":
			x.Extension = v
		case "nullFlavor":
			x.NullFlavor = v
		}
	})
}

func (r treeReader) cd(id int32, x *xCD) {
	r.attrs(id, func(_, local, v string) {
		switch local {
		case "code":
			x.Code = v
		case "codeSystem":
			x.CodeSystem = v
		case "codeSystemVersion":
			x.CodeSystemVersion = v
		case "displayName":
			x.DisplayName = v
		case "nullFlavor":
			x.NullFlavor = v
		}
	})
}

func (r treeReader) ts(id int32, x *xTS) {
	r.attrs(id, func(_, local, v string) {
		switch local {
		case "value":
			x.Value = v
		case "nullFlavor":
			x.NullFlavor = v
		}
	})
}

func (r treeReader) iis(id int32, xs *[]xII) {
	var x xII
	r.ii(id, &x)
	if *xs == nil { // room for the usual few identifiers at once
		*xs = make([]xII, 0, 4)
	}
	*xs = append(*xs, x)
}

func (r treeReader) name(id int32, x *xName) {
	r.each(id, func(c int32, ns, local string) {
		switch {
		case ns == NSHL7 && local == "family":
			x.Family = r.chardata(c)
		case ns == NSHL7 && local == "given":
			x.Given = r.chardata(c)
		case ns == NSIdentity && local == "Patronymic":
			x.Patronymic = r.chardata(c)
		}
	})
}

func (r treeReader) value(id int32, x *xValue) {
	r.attrs(id, func(ns, local, v string) {
		switch {
		case local == "type" && ns == "http://www.w3.org/2001/XMLSchema-instance":
			x.Type = v
		case local == "value":
			x.Value = v
		}
	})
	x.Text = r.chardata(id)
}

func (r treeReader) observation(id int32, x *xObservation) {
	r.each(id, func(c int32, ns, local string) {
		if ns != NSHL7 {
			return
		}
		switch local {
		case "code":
			r.cd(c, &x.Code)
		case "value":
			r.value(c, &x.Value)
		}
	})
}

// person reads an assignedAuthor or assignedEntity.
func (r treeReader) person(id int32, ids *[]xII, code *xCD, name *xName) {
	r.each(id, func(c int32, ns, local string) {
		if ns != NSHL7 {
			return
		}
		switch local {
		case "id":
			r.iis(c, ids)
		case "code":
			r.cd(c, code)
		case "assignedPerson":
			r.path(c, func(n int32) { r.name(n, name) }, "name")
		}
	})
}

func (r treeReader) clinicalDocument(id int32, x *xClinicalDocument) {
	r.each(id, func(c int32, ns, local string) {
		if ns != NSHL7 {
			return
		}
		switch local {
		case "realmCode":
			r.cd(c, &x.RealmCode)
		case "typeId":
			r.ii(c, &x.TypeID)
		case "templateId":
			r.iis(c, &x.TemplateIDs)
		case "id":
			r.iis(c, &x.IDs)
		case "code":
			r.cd(c, &x.Code)
		case "title":
			x.Title = r.chardata(c)
		case "effectiveTime":
			r.ts(c, &x.EffectiveTime)
		case "confidentialityCode":
			r.cd(c, &x.ConfidentialityCode)
		case "languageCode":
			r.cd(c, &x.LanguageCode)
		case "setId":
			r.ii(c, &x.SetID)
		case "versionNumber":
			r.ts(c, &x.VersionNumber)
		case "recordTarget":
			x.RecordTargets = append(x.RecordTargets, xRecordTarget{})
			rt := &x.RecordTargets[len(x.RecordTargets)-1]
			r.path(c, func(pr int32) { r.patientRole(pr, rt) }, "patientRole")
		case "author":
			x.Authors = append(x.Authors, xAuthor{})
			a := &x.Authors[len(x.Authors)-1]
			r.each(c, func(c int32, ns, local string) {
				switch {
				case ns != NSHL7:
				case local == "time":
					r.ts(c, &a.Time)
				case local == "assignedAuthor":
					aa := &a.AssignedAuthor
					r.person(c, &aa.IDs, &aa.Code, &aa.AssignedPerson.Name)
				}
			})
		case "custodian":
			o := &x.Custodian.Org
			r.path(c, func(c int32) {
				r.each(c, func(c int32, ns, local string) {
					switch {
					case ns == NSHL7 && local == "id":
						r.ii(c, &o.ID)
					case ns == NSHL7 && local == "name":
						o.Name = r.chardata(c)
					case ns == NSIdentity && local == "Props":
						r.each(c, func(c int32, ns, local string) {
							if ns == NSIdentity && local == "Ogrn" {
								o.Props.Ogrn = r.chardata(c)
							}
						})
					}
				})
			}, "assignedCustodian", "representedCustodianOrganization")
		case "informationRecipient":
			o := &x.InformationRecipient.Org
			r.path(c, func(c int32) {
				r.each(c, func(c int32, ns, local string) {
					switch {
					case ns == NSHL7 && local == "id":
						r.ii(c, &o.ID)
					case ns == NSHL7 && local == "name":
						o.Name = r.chardata(c)
					}
				})
			}, "intendedRecipient", "receivedOrganization")
		case "inFulfillmentOf":
			x.InFulfillmentOf = append(x.InFulfillmentOf, xInFulfillmentOf{})
			f := &x.InFulfillmentOf[len(x.InFulfillmentOf)-1]
			r.path(c, func(c int32) { r.ii(c, &f.Order.ID) }, "order", "id")
		case "participant":
			x.Participants = append(x.Participants, xParticipant{})
			p := &x.Participants[len(x.Participants)-1]
			r.attrs(c, func(_, local, v string) {
				if local == "typeCode" {
					p.TypeCode = v
				}
			})
			r.path(c, func(c int32) { r.iis(c, &p.IDs) }, "associatedEntity", "id")
		case "legalAuthenticator":
			la := &x.LegalAuthenticator
			r.each(c, func(c int32, ns, local string) {
				switch {
				case ns != NSHL7:
				case local == "time":
					r.ts(c, &la.Time)
				case local == "assignedEntity":
					ae := &la.AssignedEntity
					r.person(c, &ae.IDs, &ae.Code, &ae.AssignedPerson.Name)
				}
			})
		case "component":
			n := 0
			r.path(c, func(int32) { n++ }, "structuredBody", "component", "section")
			x.Sections = slices.Grow(x.Sections, n)
			r.path(c, func(c int32) {
				x.Sections = append(x.Sections, xSection{})
				r.section(c, &x.Sections[len(x.Sections)-1])
			}, "structuredBody", "component", "section")
		}
	})
}

func (r treeReader) patientRole(id int32, rt *xRecordTarget) {
	pr := &rt.PatientRole
	r.each(id, func(c int32, ns, local string) {
		switch {
		case ns == NSHL7 && local == "id":
			r.iis(c, &pr.IDs)
		case ns == NSIdentity && local == "InsurancePolicy":
			if pr.InsurancePolicy == nil {
				pr.InsurancePolicy = &xInsurancePolicy{}
			}
			ip := pr.InsurancePolicy
			r.each(c, func(c int32, ns, local string) {
				switch {
				case ns != NSIdentity:
				case local == "InsurancePolicyType":
					r.cd(c, &ip.Type)
				case local == "Series":
					ip.Series = r.chardata(c)
				case local == "Number":
					ip.Number = r.chardata(c)
				}
			})
		case ns == NSHL7 && local == "patient":
			p := &pr.Patient
			r.each(c, func(c int32, ns, local string) {
				switch {
				case ns != NSHL7:
				case local == "name":
					r.name(c, &p.Name)
				case local == "administrativeGenderCode":
					r.cd(c, &p.Gender)
				case local == "birthTime":
					r.ts(c, &p.BirthTime)
				}
			})
		case ns == NSHL7 && local == "providerOrganization":
			po := &pr.ProviderOrganization
			r.each(c, func(c int32, ns, local string) {
				switch {
				case ns == NSHL7 && local == "id":
					r.iis(c, &po.IDs)
				case ns == NSHL7 && local == "name":
					po.Name = r.chardata(c)
				case ns == NSIdentity && local == "Props":
					r.each(c, func(c int32, ns, local string) {
						switch {
						case ns == NSIdentity && local == "Ogrn":
							po.Props.Ogrn = r.chardata(c)
						case ns == NSIdentity && local == "Ogrnip":
							po.Props.Ogrnip = r.chardata(c)
						}
					})
				}
			})
		}
	})
}

// section reads a section as encoding/xml would, except the entries of a
// section that is neither DOCINFO nor LINKDOCS: fromXML reads no other
// section's entries, and they were most of FromTree's allocations. The code
// is read first (the code elements' attributes, in order, as in one pass:
// entries do not touch it), then the entries if they matter, into slices
// sized once.
func (r treeReader) section(id int32, s *xSection) {
	entries := 0
	r.each(id, func(c int32, ns, local string) {
		switch {
		case ns != NSHL7:
		case local == "code":
			r.cd(c, &s.Code)
		case local == "entry":
			entries++
		}
	})
	if entries == 0 || s.Code.Code != "DOCINFO" && s.Code.Code != "LINKDOCS" {
		return
	}
	s.Entries = make([]xEntry, 0, entries)
	var obs []xObservation // one block for the entries' observations
	r.each(id, func(c int32, ns, local string) {
		if ns != NSHL7 || local != "entry" {
			return
		}
		s.Entries = append(s.Entries, xEntry{})
		e := &s.Entries[len(s.Entries)-1]
		r.each(c, func(c int32, ns, local string) {
			switch {
			case ns != NSHL7:
			case local == "observation":
				if e.Observation == nil {
					if obs == nil {
						obs = make([]xObservation, entries)
					}
					e.Observation = &obs[len(s.Entries)-1]
				}
				r.observation(c, e.Observation)
			case local == "act":
				if e.Act == nil {
					e.Act = &xAct{}
				}
				r.act(c, e.Act)
			}
		})
	})
}

func (r treeReader) act(id int32, a *xAct) {
	r.each(id, func(c int32, ns, local string) {
		switch {
		case ns != NSHL7:
		case local == "code":
			r.cd(c, &a.Code)
		case local == "effectiveTime":
			r.ts(c, &a.EffectiveTime)
		case local == "entryRelationship":
			a.Relationships = append(a.Relationships, xRelationship{})
			rel := &a.Relationships[len(a.Relationships)-1]
			r.path(c, func(c int32) {
				if rel.Observation == nil {
					rel.Observation = &xObservation{}
				}
				r.observation(c, rel.Observation)
			}, "observation")
		case local == "reference":
			ref := &a.Reference
			r.attrs(c, func(_, local, v string) {
				if local == "typeCode" {
					ref.TypeCode = v
				}
			})
			r.path(c, func(c int32) { r.ii(c, &ref.ExternalDocument.ID) }, "externalDocument", "id")
		}
	})
}
