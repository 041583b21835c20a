package semdgen

import (
	"fmt"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/nsi"
)

// render writes the CDA XML. It applies the requested defects as it goes.
func render(o *Options, kind *nsi.Kind, d *Doc) string {
	var b strings.Builder
	b.Grow(40 << 10) // a 121 with its body is about 30 KB
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	org := o.Org
	if o.has(DefectBadOID) {
		org.OID = strings.Replace(org.OID, "1.2.643", "1.2.0643", 1)
	}
	if o.has(DefectBadOGRN) {
		last := org.OGRN[12] - '0'
		org.OGRN = org.OGRN[:12] + string(rune('0'+(last+1)%10))
	}
	idRoot := org.Root("51")
	if o.has(DefectBadIDRoot) {
		idRoot = org.Root("52")
	}
	setRoot := org.Root("50")
	if o.has(DefectSetIDSameAsID) {
		setRoot = idRoot
	}
	docType := kind.Type
	if o.has(DefectWrongCode) {
		docType = "999"
	}
	template := kind.TemplateRoot()
	if o.has(DefectWrongTemplate) {
		template = template[:strings.LastIndexByte(template, '.')] + ".99"
	}
	eff := ts(o.Effective)
	switch {
	case o.has(DefectFutureDate):
		eff = ts(time.Now().Add(48 * time.Hour))
	case o.has(DefectBeforeKindStart):
		eff = "20100101"
	case o.has(DefectBadTime):
		eff = o.Effective.In(msk).Format("200601021504")
	}
	realm := "RU"
	if o.has(DefectWrongRealm) {
		realm = "US"
	}

	pf := profileOf(kind)
	w(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w(`<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:identity="urn:hl7-ru:identity" xmlns:address="urn:hl7-ru:address" xmlns:fias="%s" xmlns:medService="urn:hl7-ru:medService">`+"\n", pf.fiasNS)
	w(` <realmCode code="%s"/>`+"\n", realm)
	w(` <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>` + "\n")
	w(` <templateId root="%s"/>`+"\n", template)
	w(` <id root="%s" extension="%s"/>`+"\n", idRoot, esc(o.ID))
	w(` <code code="%s" codeSystem="1.2.643.5.1.13.13.11.1522" codeSystemVersion="7.24" codeSystemName="Виды медицинской документации" displayName="%s"/>`+"\n", docType, esc(kind.TypeName))
	w(` <title>%s</title>`+"\n", esc(kind.TypeName))
	w(` <effectiveTime value="%s"/>`+"\n", eff)
	w(` <confidentialityCode code="N" codeSystem="1.2.643.5.1.13.13.99.2.285" codeSystemVersion="1.2" codeSystemName="Уровень конфиденциальности медицинского документа" displayName="Обычный"/>` + "\n")
	w(` <languageCode code="ru-RU"/>` + "\n")
	w(` <setId root="%s" extension="%s"/>`+"\n", setRoot, esc(o.SetID))
	w(` <versionNumber value="%d"/>`+"\n", o.Version)

	g := o.gen
	if !o.has(DefectNoPatient) {
		renderPatient(w, o, pf, org)
	}
	a := o.Author
	authorTime := `<time value="` + eff + `"/>`
	if pf.timeNI {
		authorTime = `<time nullFlavor="NI"/>`
	}
	w(` <author>` + "\n")
	w(`  %s`+"\n", authorTime)
	w(`  <assignedAuthor>` + "\n")
	renderEmployee(w, pf, org, a)
	w(`   <representedOrganization classCode="ORG">`)
	w(`<id root="%s"/><name>%s</name>`, org.OID, esc(org.Name))
	renderOrgContacts(w, pf, g.orgAddr)
	w(`</representedOrganization>` + "\n")
	w(`  </assignedAuthor>` + "\n")
	w(` </author>` + "\n")
	w(` <custodian><assignedCustodian><representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">` + "\n")
	w(`  <id root="%s"/>`+"\n", org.OID)
	w(`  <name>%s</name>`+"\n", esc(org.Name))
	renderOrgContacts(w, pf, g.orgAddr)
	w(` </representedCustodianOrganization></assignedCustodian></custodian>` + "\n")
	if rc := o.Recipient; rc != nil {
		w(` <informationRecipient><intendedRecipient><receivedOrganization><id root="%s"/><name>%s</name></receivedOrganization></intendedRecipient></informationRecipient>`+"\n", rc.OID, esc(rc.Name))
	}
	w(` <legalAuthenticator>` + "\n")
	w(`  %s`+"\n", authorTime)
	if pf.sigNI {
		w(`  <signatureCode nullFlavor="NI"/>` + "\n")
	} else {
		w(`  <signatureCode code="S"/>` + "\n")
	}
	w(`  <assignedEntity>` + "\n")
	renderEmployee(w, pf, org, a)
	w(`  </assignedEntity>` + "\n")
	w(` </legalAuthenticator>` + "\n")
	renderParticipant(w, o, pf)
	if f := o.Fulfills; f != nil {
		w(` <inFulfillmentOf><order><id root="%s" extension="%s"/></order></inFulfillmentOf>`+"\n", f[0], esc(f[1]))
	}
	renderDocumentationOf(w, o, pf, org, eff)
	w(` <component><structuredBody>` + "\n")
	renderBody(w, o, kind, org)
	w(` </structuredBody></component>` + "\n")
	w(`</ClinicalDocument>` + "\n")
	return b.String()
}

func obsST(w func(string, ...any), code, name, value string) {
	w(`   <entry><observation classCode="OBS" moodCode="EVN"><code code="%s" codeSystem="1.2.643.5.1.13.13.99.2.166" codeSystemVersion="5.41" codeSystemName="Кодируемые поля CDA документов" displayName="%s"/><value xsi:type="ST">%s</value></observation></entry>`+"\n", code, name, esc(value))
}

func section(w func(string, ...any), code, title, text string) {
	w(`  <component><section><code code="%s" codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29" codeSystemName="Секции электронных медицинских документов" displayName="%s"/><title>%s</title><text>%s</text>`+"\n", code, title, title, esc(text))
}

func renderBody(w func(string, ...any), o *Options, kind *nsi.Kind, org Org) {
	switch kind.Type {
	case "33":
		var bb body
		bb.Grow(32 << 10)
		body76(&bb, o, profileOf(kind))
		w("%s", bb.String())
	case "13":
		var bb body
		bb.Grow(32 << 10)
		body58(&bb, o, profileOf(kind))
		w("%s", bb.String())
	case "14":
		var bb body
		bb.Grow(32 << 10)
		body59(&bb, o, profileOf(kind))
		w("%s", bb.String())
	case "999": // certificates (kept for reference; 58, 59 and 76 have their own bodies): DOCINFO with series and number
		sc, nc := "5013", "5014"
		if kind.Type == "33" {
			sc, nc = "4120", "4121"
		}
		section(w, "DOCINFO", "Сведения о документе", "Серия "+o.Series+" № "+o.Number)
		if !o.has(DefectNoSeries) {
			obsST(w, sc, "Серия", o.Series)
			obsST(w, nc, "Номер", o.Number)
		}
		w("  </section></component>\n")
		switch kind.Type {
		case "13":
			section(w, "DEADPATINFO", "Сведения об умершем", "Сведения об умершем")
			w("  </section></component>\n")
			section(w, "ABOUTDEAD", "Сведения о смерти", "Причины смерти")
			w("  </section></component>\n")
		case "14":
			section(w, "DEADPATINFO", "Сведения о мертворожденном", "Сведения о мертворожденном")
			w("  </section></component>\n")
		case "33":
			section(w, "MOTHINFO", "Сведения о матери", "Сведения о матери")
			w("  </section></component>\n")
			section(w, "NBINFO", "Сведения о новорождённом", "Масса 3400 г, рост 52 см")
			w("  </section></component>\n")
		}
	case "34": // MSE referral
		var bb body
		bb.Grow(32 << 10)
		body121(&bb, o, profileOf(kind), org)
		w("%s", bb.String())
		if len(o.Links) > 0 {
			section(w, "LINKDOCS", "Связанные документы", fmt.Sprintf("%d связанных документов", len(o.Links)))
			for _, l := range o.Links {
				lk, _ := nsi.LookupKind(l.Kind)
				lt, ln := "", ""
				if lk != nil {
					lt, ln = lk.Type, lk.TypeName
				}
				root := l.Root
				if root == "" {
					root = org.Root("51")
				}
				date := l.Date
				if date.IsZero() {
					date = o.Effective.AddDate(0, 0, -7)
				}
				w(`   <entry><act classCode="ACT" moodCode="EVN"><code code="%s" codeSystem="1.2.643.5.1.13.13.11.1522" codeSystemVersion="7.24" codeSystemName="Виды медицинской документации" displayName="%s"/><text>%s</text><effectiveTime value="%s"/>`, lt, esc(ln), esc(ln), date.In(msk).Format("20060102"))
				if l.Series != "" {
					w(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="11002" codeSystem="1.2.643.5.1.13.13.99.2.166" codeSystemVersion="5.41" codeSystemName="Кодируемые поля CDA документов" displayName="Серия документа"/><value xsi:type="ST">%s</value></observation></entryRelationship>`, esc(l.Series))
				}
				if l.Number != "" {
					w(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="11003" codeSystem="1.2.643.5.1.13.13.99.2.166" codeSystemVersion="5.41" codeSystemName="Кодируемые поля CDA документов" displayName="Номер документа"/><value xsi:type="ST">%s</value></observation></entryRelationship>`, esc(l.Number))
				}
				w(`<reference typeCode="REFR"><externalDocument classCode="DOCCLIN" moodCode="EVN"><id root="%s" extension="%s"/></externalDocument></reference></act></entry>`+"\n", root, esc(l.ID))
			}
			w("  </section></component>\n")
		}
	case "35":
		section(w, "RESINFO", "Заключение", "Установлена инвалидность II группы, срок до 01.12.2027")
		w("  </section></component>\n")
	case "352":
		// НСИ 99.2.197 has no section for a return notice's reasons: its
		// conclusion section carries them.
		section(w, "RESINFO", "Заключение", "Не представлены результаты обследований")
		w("  </section></component>\n")
	default:
		section(w, "SUM", "Информация о лечении", "Состояние удовлетворительное. Рекомендации даны.")
		w("  </section></component>\n")
	}
}
