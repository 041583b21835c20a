package semdgen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emdhub/hub/internal/nsi"
)

// profile is what the official schematron of a kind wants of the header where
// the four published ones differ (121.sch, 58.sch, 59.sch, 76.sch). Kinds
// without a published schematron get the 121 shape.
type profile struct {
	kind         string
	fiasNS       string // 76.sch binds fias to urn:fias, the others to urn:hl7-ru:fias
	timeNI       bool   // author/legalAuthenticator time is nullFlavor NI (121, 58, 59)
	sigNI        bool   // legalAuthenticator/signatureCode nullFlavor NI (121) instead of code S
	pos700       bool   // positions from НСИ 99.2.700 (58, 59) instead of 1002
	patientSNILS bool   // recordTarget/patientRole carries the СНИЛС id (121, 58)
	cardTag      string // identity:IdentityCardType (121) or IdentityCardTypeId (certificates)
	birthplace   bool   // patient/birthplace (58, 59, 76)
	providerOKPO bool   // providerOrganization with 2 ids and identity:Okpo (58, 59)
	ircp         bool   // participant IRCP: who receives the certificate (58, 59, 76)
	patrGiven    bool   // the patronymic is a second given (the 58 and 76 schemas have no identity:Patronymic)
	noOrgProps   bool   // organisations carry no identity:Props (76: its schema's Organization has no extension point)
}

func profileOf(kind *nsi.Kind) profile {
	p := profile{kind: kind.Kind, fiasNS: "urn:hl7-ru:fias", timeNI: true, sigNI: true, patientSNILS: true, cardTag: "IdentityCardType"}
	switch kind.Type {
	case "13": // 58
		p.patrGiven = true
		p.pos700, p.cardTag, p.birthplace, p.providerOKPO, p.ircp = true, "IdentityCardTypeId", true, true, true
	case "14": // 59
		p.pos700, p.cardTag, p.birthplace, p.providerOKPO, p.ircp, p.patientSNILS = true, "IdentityCardTypeId", true, true, true, false
	case "33": // 76
		p.patrGiven, p.noOrgProps = true, true
		p.fiasNS, p.timeNI, p.sigNI, p.cardTag, p.birthplace, p.ircp, p.patientSNILS = "urn:fias", false, false, "IdentityCardTypeId", true, true, false
	}
	return p
}

// genState holds the per-document random facts drawn once in Build.
type genState struct {
	r         *rand.Rand
	region    region
	orgAddr   address
	patAddr   address
	birthAddr address
	relative  Person
	mother    Person    // 59, 76: the mother of the child
	passport  [2]string // series, number of the patient's passport
	relPass   [2]string
	issueDate string
	phone     string
	okpo      string
}

func newGenState(r *rand.Rand, regionCode int, p *Person) *genState {
	reg := regionFor(regionCode)
	g := &genState{r: r, region: reg}
	g.orgAddr = randomAddress(r, reg, false)
	g.patAddr = randomAddress(r, reg, true)
	g.birthAddr = randomAddress(r, regionFor(regionCodes[r.IntN(len(regionCodes))]), true)
	g.relative = RandomPerson(r, regionCode)
	g.mother = RandomPerson(r, regionCode)
	g.mother.Gender, g.mother.Family, g.mother.Given, g.mother.Patronymic = "2", pick(r, familiesM)+"а", pick(r, givenF), pick(r, patrF)
	g.mother.BirthDate = time.Date(1980+r.IntN(25), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	g.passport = [2]string{fmt.Sprintf("%02d%02d", regionCode%100, 1+r.IntN(24)), fmt.Sprintf("%06d", r.IntN(1e6))}
	g.relPass = [2]string{fmt.Sprintf("%02d%02d", regionCode%100, 1+r.IntN(24)), fmt.Sprintf("%06d", r.IntN(1e6))}
	issue := p.BirthDate.AddDate(20+r.IntN(5), r.IntN(12), r.IntN(28))
	g.issueDate = issue.Format("20060102")
	g.phone = fmt.Sprintf("+79%09d", r.IntN(1e9))
	g.okpo = fmt.Sprintf("%08d", r.IntN(1e8))
	return g
}

type writer = func(string, ...any)

func renderAddr(w writer, pf profile, a address, typ string) {
	w(`<addr>`)
	if typ != "" {
		names := map[string]string{"1": "Адрес по месту жительства (постоянной регистрации)", "2": "Адрес места пребывания", "3": "Адрес фактического места жительства (пребывания)"}
		w(`<address:Type xsi:type="CD" code="%s" codeSystem="1.2.643.5.1.13.13.11.1504" codeSystemVersion="1.3" codeSystemName="Тип адреса пациента" displayName="%s"/>`, typ, names[typ])
	}
	w(`<streetAddressLine>%s</streetAddressLine>`, esc(a.Line))
	w(`<address:stateCode xsi:type="CD" code="%s" codeSystem="%s" codeSystemVersion="%s" codeSystemName="Субъекты Российской Федерации" displayName="%s"/>`, a.Region.Code, regionBook, regionVersion, esc(a.Region.Name))
	w(`<postalCode>%s</postalCode>`, a.Postal)
	w(`<fias:Address><fias:AOGUID>%s</fias:AOGUID><fias:HOUSEGUID>%s</fias:HOUSEGUID></fias:Address>`, a.AOGUID, a.HouseGUI)
	w(`</addr>`)
}

func renderOrgContacts(w writer, pf profile, a address) {
	w(`<telecom value="tel:+7495%07d"/>`, len(a.Line)*7919%10000000)
	renderAddr(w, pf, a, "")
}

func renderEmployee(w writer, pf profile, org Org, a *Person) {
	pos := positionByCode(a.Position)
	w(`   <id root="%s" extension="%s"/>`+"\n", org.Root("70"), esc(a.LocalID))
	w(`   <id root="1.2.643.100.3" extension="%s"/>`+"\n", a.SNILS)
	if pf.pos700 {
		w(`   <code code="%s" codeSystem="%s" codeSystemVersion="%s" codeSystemName="Должности медицинских работников для ФРМСС" displayName="%s"/>`+"\n", pos.Code, pos700Book, pos700Version, esc(pos.Name700))
	} else {
		w(`   <code code="%s" codeSystem="%s" codeSystemVersion="%s" codeSystemName="Должности медицинских и фармацевтических работников" displayName="%s"/>`+"\n", pos.Code, posBook, posVersion, esc(pos.Name1002))
	}
	w(`   <assignedPerson>%s</assignedPerson>`+"\n", personName(pf, a.Family, a.Given, a.Patronymic))
}

// personName renders a name with the patronymic where the kind's schema has it.
func personName(pf profile, family, given, patronymic string) string {
	if pf.patrGiven {
		return `<name><family>` + esc(family) + `</family><given>` + esc(given) + `</given><given>` + esc(patronymic) + `</given></name>`
	}
	return `<name><family>` + esc(family) + `</family><given>` + esc(given) + `</given><identity:Patronymic xsi:type="ST">` + esc(patronymic) + `</identity:Patronymic></name>`
}

func renderIdentityDoc(w writer, pf profile, series, number, issueOrg, issueCode, date string) {
	w(`<identity:IdentityDoc><identity:%s xsi:type="CD" code="1" codeSystem="1.2.643.5.1.13.13.99.2.48" codeSystemVersion="7.2" codeSystemName="Документы, удостоверяющие личность" displayName="Паспорт гражданина Российской Федерации"/>`, pf.cardTag)
	w(`<identity:Series xsi:type="ST">%s</identity:Series><identity:Number xsi:type="ST">%s</identity:Number><identity:IssueOrgName xsi:type="ST">%s</identity:IssueOrgName><identity:IssueOrgCode xsi:type="ST">%s</identity:IssueOrgCode><identity:IssueDate xsi:type="TS" value="%s"/></identity:IdentityDoc>`, series, number, esc(issueOrg), issueCode, date)
}

func renderPatient(w writer, o *Options, pf profile, org Org) {
	p, g := o.Patient, o.gen
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
	if pf.patientSNILS && !o.has(DefectNoSNILS) || o.has(DefectBadSNILS) {
		w(`  <id root="1.2.643.100.3" extension="%s"/>`+"\n", snils)
	}
	if pf.kind != "59" && pf.kind != "76" {
		w("  ")
		renderIdentityDoc(w, pf, g.passport[0], g.passport[1], g.region.IssueOrg, g.region.IssueCode+"-"+fmt.Sprintf("%03d", 1+len(p.LocalID)%40), g.issueDate)
		w("\n")
		if enp != "" {
			w(`  <identity:InsurancePolicy><identity:InsurancePolicyType xsi:type="CD" code="3" codeSystem="1.2.643.5.1.13.13.11.1035" codeSystemVersion="1.3" codeSystemName="Виды полиса обязательного медицинского страхования" displayName="Полис ОМС единого образца, со сроком действия"/><identity:Number xsi:type="ST">%s</identity:Number></identity:InsurancePolicy>`+"\n", enp)
		}
	}
	w("  ")
	renderAddr(w, pf, g.patAddr, "1")
	w("\n")
	w(`  <telecom value="tel:%s" use="MC"/>`+"\n", g.phone)
	w(`  <patient>` + "\n")
	w(`   %s`+"\n", personName(pf, p.Family, p.Given, p.Patronymic))
	gname := map[string]string{"1": "Мужской", "2": "Женский"}[p.Gender]
	w(`   <administrativeGenderCode code="%s" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1" codeSystemName="Пол пациента" displayName="%s"/>`+"\n", p.Gender, gname)
	w(`   <birthTime value="%s"/>`+"\n", p.BirthDate.Format("20060102"))
	if pf.birthplace {
		w(`   <birthplace><place>`)
		renderAddr(w, pf, g.birthAddr, "")
		w(`</place></birthplace>` + "\n")
	}
	w(`  </patient>` + "\n")
	w(`  <providerOrganization classCode="ORG" determinerCode="INSTANCE"><id root="%s"/>`, org.OID)
	if pf.providerOKPO {
		w(`<id root="1.2.643.5.1.13.2.1.1.1504.101" extension="%s" assigningAuthorityName="ОКПО"/><identity:Okpo xsi:type="ST">%s</identity:Okpo>`, g.okpo, g.okpo)
	}
	if !pf.noOrgProps {
		w(`<identity:Props><identity:Ogrn xsi:type="ST">%s</identity:Ogrn></identity:Props>`, org.OGRN)
	}
	w(`<name>%s</name>`, esc(org.Name))
	renderOrgContacts(w, pf, g.orgAddr)
	w(`</providerOrganization>` + "\n")
	w(` </patientRole></recordTarget>` + "\n")
}

// renderParticipant writes who receives a certificate (participant IRCP).
func renderParticipant(w writer, o *Options, pf profile) {
	if !pf.ircp {
		return
	}
	g := o.gen
	rel, relation := g.relative, "3" // a relative receives a death certificate
	if pf.kind == "59" || pf.kind == "76" {
		rel, relation = g.mother, "1" // the mother receives the child's
	}
	w(` <participant typeCode="IRCP"><time value="%s"/><associatedEntity classCode="PRS">`, ts(o.Effective))
	if !(o.has(DefectNoSNILS) && !pf.patientSNILS) {
		w(`<id root="1.2.643.100.3" extension="%s"/>`, rel.SNILS)
	}
	code := `<code ` + coded("1.2.643.5.1.13.13.99.2.14", relation) + `/>`
	if pf.kind != "76" {
		w("%s", code)
	}
	if pf.kind == "76" { // the 76 schema takes the extension before code
		w(`<f103:IdentityDoc xmlns:f103="urn:f103"><f103:IdentityCardTypeId xsi:type="CD" code="1" codeSystem="1.2.643.5.1.13.13.99.2.48" codeSystemVersion="7.2" codeSystemName="Документы, удостоверяющие личность" displayName="Паспорт гражданина Российской Федерации"/><f103:Series xsi:type="ST">%s</f103:Series><f103:Number xsi:type="ST">%s</f103:Number><f103:IssueOrgName xsi:type="ST">%s</f103:IssueOrgName><f103:IssueOrgCode xsi:type="ST">%s-001</f103:IssueOrgCode><f103:IssueDate xsi:type="TS" value="%s"/></f103:IdentityDoc>`, g.relPass[0], g.relPass[1], esc(g.region.IssueOrg), g.region.IssueCode, g.issueDate)
	} else {
		renderIdentityDoc(w, pf, g.relPass[0], g.relPass[1], g.region.IssueOrg, g.region.IssueCode+"-001", g.issueDate)
	}
	if pf.kind == "76" {
		w("%s", code)
	}
	w(`<associatedPerson>%s</associatedPerson>`, personName(pf, rel.Family, rel.Given, rel.Patronymic))
	w(`</associatedEntity></participant>` + "\n")
}

func renderDocumentationOf(w writer, o *Options, pf profile, org Org, eff string) {
	if pf.kind != "121" {
		w(` <documentationOf><serviceEvent><effectiveTime><low value="%s"/><high value="%s"/></effectiveTime></serviceEvent></documentationOf>`+"\n", eff, eff)
		return
	}
	w(` <documentationOf><serviceEvent><code code="57" codeSystem="1.2.643.5.1.13.13.99.2.726" codeSystemVersion="3.10" codeSystemName="Типы документированных событий" displayName="Медико-социальная экспертиза"/>`)
	w(`<effectiveTime><low value="%s"/><high value="%s"/></effectiveTime>`, ts(o.Effective.AddDate(0, 0, -14)), eff)
	w(`<performer typeCode="PPRF"><assignedEntity>`)
	renderEmployee(w, pf, org, o.Author)
	w(`</assignedEntity></performer></serviceEvent></documentationOf>` + "\n")
}
