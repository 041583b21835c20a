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
	b.Grow(8 << 10)
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

	w(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w(`<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:identity="urn:hl7-ru:identity" xmlns:address="urn:hl7-ru:address" xmlns:fias="urn:hl7-ru:fias" xmlns:medService="urn:hl7-ru:medService">` + "\n")
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

	if !o.has(DefectNoPatient) {
		renderPatient(w, o, org)
	}
	a := o.Author
	w(` <author>` + "\n")
	w(`  <time value="%s"/>`+"\n", eff)
	w(`  <assignedAuthor>` + "\n")
	renderEmployee(w, org, a)
	w(`   <representedOrganization classCode="ORG"><id root="%s"/><name>%s</name></representedOrganization>`+"\n", org.OID, esc(org.Name))
	w(`  </assignedAuthor>` + "\n")
	w(` </author>` + "\n")
	w(` <custodian><assignedCustodian><representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">` + "\n")
	w(`  <id root="%s"/>`+"\n", org.OID)
	w(`  <identity:Props><identity:Ogrn>%s</identity:Ogrn></identity:Props>`+"\n", org.OGRN)
	w(`  <name>%s</name>`+"\n", esc(org.Name))
	w(`  <telecom value="tel:+74951234567"/>` + "\n")
	w(`  <addr><address:Type code="3" codeSystem="1.2.643.5.1.13.13.11.1504" codeSystemVersion="1.3" codeSystemName="Тип адреса пациента" displayName="Адрес фактического места жительства (пребывания)"/><streetAddressLine>г. Москва, ул. Тверская, д. 1</streetAddressLine><address:stateCode code="77" codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="7.1" codeSystemName="Субъекты Российской Федерации" displayName="г. Москва"/></addr>` + "\n")
	w(` </representedCustodianOrganization></assignedCustodian></custodian>` + "\n")
	if rc := o.Recipient; rc != nil {
		w(` <informationRecipient><intendedRecipient><receivedOrganization><id root="%s"/><name>%s</name></receivedOrganization></intendedRecipient></informationRecipient>`+"\n", rc.OID, esc(rc.Name))
	}
	w(` <legalAuthenticator>` + "\n")
	w(`  <time value="%s"/>`+"\n", eff)
	w(`  <signatureCode nullFlavor="NI"/>` + "\n")
	w(`  <assignedEntity>` + "\n")
	renderEmployee(w, org, a)
	w(`  </assignedEntity>` + "\n")
	w(` </legalAuthenticator>` + "\n")
	if f := o.Fulfills; f != nil {
		w(` <inFulfillmentOf><order><id root="%s" extension="%s"/></order></inFulfillmentOf>`+"\n", f[0], esc(f[1]))
	}
	w(` <documentationOf><serviceEvent><effectiveTime><low value="%s"/><high value="%s"/></effectiveTime></serviceEvent></documentationOf>`+"\n", eff, eff)
	w(` <component><structuredBody>` + "\n")
	renderBody(w, o, kind, org)
	w(` </structuredBody></component>` + "\n")
	w(`</ClinicalDocument>` + "\n")
	return b.String()
}

func renderPatient(w func(string, ...any), o *Options, org Org) {
	p := o.Patient
	patRoot := org.Root("10")
	if o.has(DefectBadPatientRoot) {
		patRoot = org.Root("11")
	}
	snils := p.SNILS
	if o.has(DefectBadSNILS) {
		snils = snils[:9] + fmt.Sprintf("%02d", (int(snils[9]-'0')*10+int(snils[10]-'0')+1)%100)
	}
	enp := p.ENP
	if o.has(DefectBadENP) && enp != "" {
		last := enp[15] - '0'
		enp = enp[:15] + string(rune('0'+(last+1)%10))
	}
	w(` <recordTarget><patientRole>` + "\n")
	w(`  <id root="%s" extension="%s"/>`+"\n", patRoot, esc(p.LocalID))
	if !o.has(DefectNoSNILS) {
		w(`  <id root="1.2.643.100.3" extension="%s"/>`+"\n", snils)
	}
	w(`  <identity:IdentityDoc><identity:IdentityCardType xsi:type="CD" code="1" codeSystem="1.2.643.5.1.13.13.99.2.48" codeSystemVersion="5.1" codeSystemName="Документы, удостоверяющие личность" displayName="Паспорт гражданина Российской Федерации"/><identity:Series xsi:type="ST">4510</identity:Series><identity:Number xsi:type="ST">123456</identity:Number><identity:IssueOrgName xsi:type="ST">ГУ МВД России по г. Москве</identity:IssueOrgName><identity:IssueOrgCode xsi:type="ST">770-001</identity:IssueOrgCode><identity:IssueDate xsi:type="TS" value="20100101"/></identity:IdentityDoc>` + "\n")
	if enp != "" {
		w(`  <identity:InsurancePolicy><identity:InsurancePolicyType xsi:type="CD" code="3" codeSystem="1.2.643.5.1.13.13.11.1035" codeSystemVersion="1.3" codeSystemName="Виды полиса обязательного медицинского страхования" displayName="Полис ОМС единого образца"/><identity:Number xsi:type="ST">%s</identity:Number></identity:InsurancePolicy>`+"\n", enp)
	}
	w(`  <addr use="H"><address:Type code="1" codeSystem="1.2.643.5.1.13.13.11.1504" codeSystemVersion="1.3" codeSystemName="Тип адреса пациента" displayName="Адрес по месту жительства (постоянной регистрации)"/><streetAddressLine>г. Москва, ул. Ленина, д. 5, кв. 12</streetAddressLine><address:stateCode code="77" codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="7.1" codeSystemName="Субъекты Российской Федерации" displayName="г. Москва"/><postalCode>101000</postalCode></addr>` + "\n")
	w(`  <telecom value="tel:+79161234567" use="MC"/>` + "\n")
	w(`  <patient>` + "\n")
	w(`   <name><family>%s</family><given>%s</given><identity:Patronymic>%s</identity:Patronymic></name>`+"\n", esc(p.Family), esc(p.Given), esc(p.Patronymic))
	gname := map[string]string{"1": "Мужской", "2": "Женский"}[p.Gender]
	w(`   <administrativeGenderCode code="%s" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1" codeSystemName="Пол пациента" displayName="%s"/>`+"\n", p.Gender, gname)
	w(`   <birthTime value="%s"/>`+"\n", p.BirthDate.Format("20060102"))
	w(`  </patient>` + "\n")
	w(`  <providerOrganization classCode="ORG" determinerCode="INSTANCE"><id root="%s"/><identity:Props><identity:Ogrn>%s</identity:Ogrn></identity:Props><name>%s</name><telecom value="tel:+74951234567"/><addr><streetAddressLine>г. Москва, ул. Тверская, д. 1</streetAddressLine><address:stateCode code="77" codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="7.1" codeSystemName="Субъекты Российской Федерации" displayName="г. Москва"/></addr></providerOrganization>`+"\n", org.OID, org.OGRN, esc(org.Name))
	w(` </patientRole></recordTarget>` + "\n")
}

func renderEmployee(w func(string, ...any), org Org, a *Person) {
	w(`   <id root="%s" extension="%s"/>`+"\n", org.Root("70"), esc(a.LocalID))
	w(`   <id root="1.2.643.100.3" extension="%s"/>`+"\n", a.SNILS)
	w(`   <code code="%s" codeSystem="1.2.643.5.1.13.13.11.1002" codeSystemVersion="8.4" codeSystemName="Должности работников организаций медицинского и фармацевтического профиля" displayName="%s"/>`+"\n", a.Position, esc(a.PosName))
	w(`   <assignedPerson><name><family>%s</family><given>%s</given><identity:Patronymic>%s</identity:Patronymic></name></assignedPerson>`+"\n", esc(a.Family), esc(a.Given), esc(a.Patronymic))
}

func obsST(w func(string, ...any), code, name, value string) {
	w(`   <entry><observation classCode="OBS" moodCode="EVN"><code code="%s" codeSystem="1.2.643.5.1.13.13.99.2.166" codeSystemVersion="5.41" codeSystemName="Кодируемые поля CDA документов" displayName="%s"/><value xsi:type="ST">%s</value></observation></entry>`+"\n", code, name, esc(value))
}

func section(w func(string, ...any), code, title, text string) {
	w(`  <component><section><code code="%s" codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="1.17" codeSystemName="Секции электронных медицинских документов" displayName="%s"/><title>%s</title><text>%s</text>`+"\n", code, title, title, esc(text))
}

func renderBody(w func(string, ...any), o *Options, kind *nsi.Kind, org Org) {
	switch kind.Type {
	case "13", "14", "33": // certificates: DOCINFO with series and number
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
			section(w, "MOTHERINFO", "Сведения о матери", "Сведения о матери")
			w("  </section></component>\n")
			section(w, "CHILDINFO", "Сведения о ребёнке", "Масса 3400 г, рост 52 см")
			w("  </section></component>\n")
		}
	case "34": // MSE referral
		section(w, "SCOPORG", "Направившая организация", "Направление на МСЭ")
		w("  </section></component>\n")
		section(w, "CONSENT", "Согласие", "Согласие на направление на МСЭ получено")
		w("  </section></component>\n")
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
		section(w, "RESINFO", "Результаты МСЭ", "Установлена инвалидность II группы, срок до 01.12.2027")
		w("  </section></component>\n")
	case "352":
		section(w, "RETINFO", "Причины возврата", "Не представлены результаты обследований")
		w("  </section></component>\n")
	default:
		section(w, "SUM", "Заключение", "Состояние удовлетворительное. Рекомендации даны.")
		w("  </section></component>\n")
	}
}
