package semdgen

import (
	"fmt"
	"strconv"
)

// The bodies of the four kinds with a published schematron: every section and
// observation the official rules require, with codes drawn from the ФНСИ books
// in books_gen.go. The generated data are varied by the document's random
// source (o.gen.r).

// mother renders the mother (relatedSubject code 1) in the namespace the
// kind's schematron wants for her id and identity document (f103 in 76.sch,
// identity in 59.sch).
func (b *body) mother(o *Options, pf profile, prefix string) {
	g := o.gen
	m := g.mother
	// The CDA schema takes extension elements only first in relatedSubject.
	b.f(`<subject typeCode="SBJ"><relatedSubject classCode="PRS">`)
	b.f(`<%s:id xmlns:%s="%s" root="1.2.643.100.3" extension="%s"/>`, prefix, prefix, nsOf(prefix), m.SNILS)
	b.f(`<%[1]s:IdentityDoc xmlns:%[1]s="%[2]s"><%[1]s:IdentityCardTypeId xsi:type="CD" %[3]s/><%[1]s:Series xsi:type="ST">%[4]s</%[1]s:Series><%[1]s:Number xsi:type="ST">%[5]s</%[1]s:Number><%[1]s:IssueOrgName xsi:type="ST">%[6]s</%[1]s:IssueOrgName><%[1]s:IssueOrgCode xsi:type="ST">%[7]s-002</%[1]s:IssueOrgCode><%[1]s:IssueDate xsi:type="TS" value="%[8]s"/></%[1]s:IdentityDoc>`,
		prefix, nsOf(prefix), coded("1.2.643.5.1.13.13.99.2.48", "1"), g.relPass[0], g.relPass[1], esc(g.region.IssueOrg), g.region.IssueCode, m.BirthDate.AddDate(20, 1, 3).Format("20060102"))
	b.f(`<code %s/>`, coded("1.2.643.5.1.13.13.99.2.14", "1"))
	renderAddr(b.f, pf, g.patAddr, "")
	b.f(`<subject><name><family>%s</family><given>%s</given><given>%s</given></name><birthTime value="%s"/></subject>`, esc(m.Family), esc(m.Given), esc(m.Patronymic), m.BirthDate.Format("20060102"))
	b.f(`</relatedSubject></subject>`)
}

func nsOf(prefix string) string {
	if prefix == "f103" {
		return "urn:f103"
	}
	return "urn:hl7-ru:identity"
}

// ref is an observation's narrative reference (59.sch wants text/reference).
func ref(id string) string { return `<text><reference value="#` + id + `"/></text>` }

// body76 is the birth certificate (76.sch): DOCINFO, MOTHINFO, LABODELI, NBINFO.
func body76(b *body, o *Options, pf profile) {
	g, r := o.gen, o.gen.r
	b.open("DOCINFO", "Серия "+o.Series+" № "+o.Number)
	if !o.has(DefectNoSeries) {
		b.obs("4120", valST(o.Series))
		b.obs("4121", valST(o.Number))
	}
	b.close()

	b.open("MOTHINFO", "Сведения о матери: "+g.mother.Family+" "+g.mother.Given+" "+g.mother.Patronymic)
	b.mother(o, pf, "f103")
	b.obs("250", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.obs("260", valCD("1.2.643.5.1.13.13.99.2.15", anyOf(r, "1", "2", "3")))
	b.obs("270", valCD("1.2.643.5.1.13.13.99.2.16", anyOf(r, "1", "2", "3", "4", "5")))
	b.obs("280", valCD("1.2.643.5.1.13.13.99.2.17", anyOf(r, "1", "2", "3", "4", "6")))
	if g.mother.ENP != "" && r.IntN(4) != 0 {
		b.obs("5010", valST(g.mother.ENP))
	} else {
		b.obs("5010", `<value xsi:type="ST" nullFlavor="UNK"/>`)
	}
	b.close()

	b.open("LABODELI", "Сведения о родах")
	if r.IntN(3) != 0 {
		b.obs("290", valPQ(strconv.Itoa(6+r.IntN(10)), "нед"))
	}
	single := r.IntN(10) != 0
	b.f(`<entry><act classCode="ACT" moodCode="EVN"><code %s/>`, coded("1.2.643.5.1.13.13.11.1070", anyOf(r, "B01.001.009", "B01.001.006")))
	b.f(`<performer><assignedEntity><id root="%s" extension="%s"/><code %s/><assignedPerson><name><family>%s</family><given>%s</given></name></assignedPerson></assignedEntity></performer>`,
		o.Org.Root("70"), esc(o.Author.LocalID), coded("1.2.643.5.1.13.13.99.2.32", "1"), esc(o.Author.Family), esc(o.Author.Given))
	b.f(`<participant typeCode="LOC"><participantRole><code %s/></participantRole></participant>`, coded("1.2.643.5.1.13.13.99.2.30", "1"))
	plurality, born := "1", 1
	if !single {
		plurality, born = "2", 2
	}
	b.f(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, coded(f166, "300"), valCD("1.2.643.5.1.13.13.99.2.31", plurality))
	b.f(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, coded(f166, "310"), valINT(born))
	b.f("</act></entry>")
	b.close()

	mass, length := 2600+r.IntN(1800), 46+r.IntN(10)
	b.open("NBINFO", fmt.Sprintf("Масса %d г, длина %d см", mass, length))
	b.obs("370", valINT(1+r.IntN(3)))
	b.obs("380", valINT(1))
	b.obs("350", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.obs("410", valPQ(strconv.Itoa(mass), "г"))
	b.obs("420", valPQ(strconv.Itoa(length), "см"))
	b.close()
}

// obsR is obs with the narrative reference 58.sch and 59.sch ask for.
func (b *body) obsR(code166, inner string) {
	b.n++
	b.obs(code166, ref(fmt.Sprintf("o%d", b.n))+inner)
}

// icd renders an ICD-10 code with its name; oid is the book the kind's
// schematron names (1005, or 1489 which is not in the reference set: the
// МКБ-10 name is used for it).
func icd(oid, code string) string {
	_, name := lookup(f1005, code)
	ver := books[f1005].Version
	bookName := books[f1005].Name
	if oid != f1005 {
		ver, bookName = "1.1", "МКБ-10. Перинатальная смертность"
	}
	return fmt.Sprintf(`code="%s" codeSystem="%s" codeSystemVersion="%s" codeSystemName="%s" displayName="%s"`, code, oid, ver, esc(bookName), esc(name))
}

const (
	unitG  = `<translation code="8" codeSystem="1.2.643.5.1.13.13.11.1358" codeSystemVersion="3.23" codeSystemName="Единицы измерения" displayName="г" value="%s"/>`
	unitCM = `<translation code="3" codeSystem="1.2.643.5.1.13.13.11.1358" codeSystemVersion="3.23" codeSystemName="Единицы измерения" displayName="см" value="%s"/>`
)

func pqT(v, unit, tr string) string {
	return fmt.Sprintf(`<value xsi:type="PQ" value="%s" unit="%s">`+tr+`</value>`, v, unit, v)
}

// body59 is the perinatal death certificate (59.sch).
func body59(b *body, o *Options, pf profile) {
	g, r := o.gen, o.gen.r
	eff := o.Effective
	b.open("DOCINFO", "Серия "+o.Series+" № "+o.Number)
	if !o.has(DefectNoSeries) {
		b.obsR("5003", valST(o.Series))
		b.obsR("5004", valST(o.Number))
		// The hub's door reads the series and number from 5013/5014.
		b.obsR("5013", valST(o.Series))
		b.obsR("5014", valST(o.Number))
	}
	b.obsR("114", valTS(eff.Format("20060102")))
	b.obsR("511", valCD("1.2.643.5.1.13.13.99.2.19", anyOf(r, "1", "1", "2")))
	b.obsR("5005", `<value xsi:type="ST" nullFlavor="NA"/>`)
	b.obsR("5006", `<value xsi:type="ST" nullFlavor="NA"/>`)
	b.obsR("5007", `<value xsi:type="TS" nullFlavor="NA"/>`)
	b.obsR("12135", valBL(false))
	b.obsR("6082", valST("Форма № 106-2/у"))
	b.close()

	b.open("MOTHINFO", "Сведения о матери: "+g.mother.Family+" "+g.mother.Given+" "+g.mother.Patronymic)
	b.mother(o, pf, "identity")
	b.obsR("250", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.obsR("260", valCD("1.2.643.5.1.13.13.99.2.15", anyOf(r, "1", "2", "3")))
	b.obsR("270", valCD("1.2.643.5.1.13.13.99.2.16", anyOf(r, "1", "2", "3", "4", "5")))
	b.obsR("280", valCD("1.2.643.5.1.13.13.11.1038", anyOf(r, "1", "2", "3")))
	b.obsR("5010", valST(g.mother.ENP))
	b.close()

	b.open("LABODELI", "Сведения о родах")
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/>%s`, coded(f166, "6018"), valCD("1.2.643.5.1.13.13.11.1070", anyOf(r, "B01.001.009", "B01.001.006")))
	b.f(`<performer><assignedEntity><id root="%s" extension="%s"/><code %s/><assignedPerson><name><family>%s</family><given>%s</given></name></assignedPerson></assignedEntity></performer>`,
		o.Org.Root("70"), esc(o.Author.LocalID), coded("1.2.643.5.1.13.13.99.2.32", "1"), esc(o.Author.Family), esc(o.Author.Given))
	b.f(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, coded(f166, "300"), valCD("1.2.643.5.1.13.13.99.2.31", "1"))
	b.f(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, coded(f166, "5002"), valINT(1))
	b.f(`<entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, coded(f166, "310"), valINT(1))
	b.f("</observation></entry>")
	b.close()

	mass, length := 500+r.IntN(3000), 25+r.IntN(28)
	b.open("DEADPATINFO", fmt.Sprintf("Масса %d г, длина %d см", mass, length))
	b.obsR("5009", valCD("1.2.643.5.1.13.13.99.2.30", "1"))
	b.obsR("5000", valCD("1.2.643.5.1.13.13.99.2.590", "2"))
	b.obsR("370", valINT(1+r.IntN(3)))
	b.obsR("380", valINT(1))
	b.obsR("410", pqT(strconv.Itoa(mass), "g", unitG))
	b.obsR("420", pqT(strconv.Itoa(length), "cm", unitCM))
	b.obsR("521", valTS(o.Patient.BirthDate.Format("20060102")))
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/>%s<value xsi:type="AD"><streetAddressLine>%s</streetAddressLine></value></observation></entry>`, coded(f166, "531"), ref("addr"), esc(g.orgAddr.Line))
	b.obsR("541", valCD("1.2.643.5.1.13.13.99.2.20", "3"))
	b.obsR("252", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.obsR("5001", valCD("1.2.643.5.1.13.13.99.2.589", anyOf(r, "1", "2")))
	b.close()

	b.open("ORGINFO", "Медицинская организация")
	b.obsR("5008", valST(g.okpo))
	b.close()

	b.open("ABOUTDEAD", "Причины перинатальной смерти")
	b.obsR("551", valCD("1.2.643.5.1.13.13.99.2.21", "1"))
	b.obsR("571", valCD("1.2.643.5.1.13.13.99.2.22", "4"))
	b.obsR("581", valCD("1.2.643.5.1.13.13.99.2.23", "4"))
	p1 := "1.2.643.5.1.13.13.11.1489"
	b.obsR("4549", `<value xsi:type="CD" `+icd(p1, anyOf(r, "P20.9", "P21.0", "P22.0"))+`/>`)
	b.obsR("4550", `<value xsi:type="CD" `+icd(p1, anyOf(r, "P02.7", "P01.1"))+`/>`)
	b.obsR("4551", `<value xsi:type="CD" nullFlavor="NA"/>`)
	b.obsR("4552", `<value xsi:type="CD" nullFlavor="NA"/>`)
	b.obsR("4553", `<value xsi:type="CD" nullFlavor="UNK"/>`)
	b.close()
}

// causeChains are realistic sequences of causes of death (ICD-10): the
// immediate cause, the one that led to it, and the underlying disease.
var causeChains = [][]string{
	{"I50.0", "I21.0", "I11.9"},
	{"I46.9", "I25.1", ""},
	{"J18.9", "J44.1", ""},
	{"I64", "I11.9", ""},
	{"C34.1", "", ""},
	{"K74.6", "", ""},
	{"N18.5", "E11.7", ""},
}

// unkTime is the unknown time of onset of a cause of death.
const unkTime = `<effectiveTime nullFlavor="UNK"/>`

func cdOrNA(oid, code string) string {
	if code == "" {
		return `<value xsi:type="CD" nullFlavor="NA"/>`
	}
	return `<value xsi:type="CD" ` + icd(oid, code) + `/>`
}

// body58 is the death certificate (58.sch): DOCINFO, DEADPATINFO, ABOUTDEAD.
func body58(b *body, o *Options, pf profile) {
	g, r := o.gen, o.gen.r
	eff := o.Effective
	b.open("DOCINFO", "Серия "+o.Series+" № "+o.Number)
	if !o.has(DefectNoSeries) {
		b.obs("5013", valST(o.Series))
		b.obs("5014", valST(o.Number))
	}
	b.obs("511", valCD("1.2.643.5.1.13.13.99.2.19", anyOf(r, "1", "1", "2")))
	b.obs("5015", `<value xsi:type="ST" nullFlavor="NA"/>`)
	b.obs("5016", `<value xsi:type="ST" nullFlavor="NA"/>`)
	b.obs("112", `<value xsi:type="TS" nullFlavor="NA"/>`)
	b.obs("12135", valBL(true))
	b.obs("6082", valST("Форма № 106/у"))
	b.close()

	death := eff.AddDate(0, 0, -1-r.IntN(3))
	b.open("DEADPATINFO", "Сведения об умершем: "+o.Patient.Family+" "+o.Patient.Given+" "+o.Patient.Patronymic)
	b.obs("521", valTS(death.Format("200601021504-0700")))
	b.obs("6016", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/><value xsi:type="AD"><streetAddressLine>%s</streetAddressLine></value></observation></entry>`, coded(f166, "531"), esc(g.patAddr.Line))
	b.obs("252", valCD("1.2.643.5.1.13.13.11.1042", anyOf(r, "1", "2")))
	b.obs("541", valCD("1.2.643.5.1.13.13.99.2.20", anyOf(r, "3", "4")))
	b.obs("612", `<value xsi:type="CD" nullFlavor="NA"/>`)
	b.obs("410", `<value xsi:type="PQ" nullFlavor="NA"/>`)
	b.obs("370", `<value xsi:type="INT" nullFlavor="NA"/>`)
	b.obs("261", valCD("1.2.643.5.1.13.13.99.2.15", anyOf(r, "1", "2", "4")))
	b.obs("271", valCD("1.2.643.5.1.13.13.99.2.16", anyOf(r, "1", "2", "3", "4", "5")))
	b.obs("281", valCD("1.2.643.5.1.13.13.11.1038", anyOf(r, "1", "2", "3")))
	if o.Patient.ENP != "" {
		b.obs("5010", valST(o.Patient.ENP))
	} else {
		b.obs("5010", `<value xsi:type="ST" nullFlavor="UNK"/>`)
	}
	b.close()

	chain := causeChains[r.IntN(len(causeChains))]
	p := "1.2.643.5.1.13.13.11.1489"
	b.open("ABOUTDEAD", "Причины смерти")
	b.obs("551", valCD("1.2.643.5.1.13.13.99.2.21", "1"))
	b.obs("6019", `<value xsi:type="TS" nullFlavor="NA"/>`)
	b.obs("571", valCD("1.2.643.5.1.13.13.99.2.22", anyOf(r, "2", "4")))
	b.obs("581", valCD("1.2.643.5.1.13.13.99.2.23", anyOf(r, "1", "2", "4")))
	b.obs("4030", unkTime+cdOrNA(p, chain[0]))
	b.obs("4035", unkTime+cdOrNA(p, chain[1]))
	b.obs("4040", unkTime+cdOrNA(p, chain[2]))
	b.obs("4045", unkTime+`<value xsi:type="CD" nullFlavor="NA"/>`)
	b.obs("601", `<value xsi:type="CD" nullFlavor="NA"/>`)
	b.obs("591", `<value xsi:type="CD" nullFlavor="NA"/>`)
	b.close()
}

// jobs are occupations of patients referred to МСЭ: profession,
// qualification, employer, conditions of work.
var jobs = [][4]string{
	{"Слесарь-ремонтник", "5 разряд", "АО «Машиностроительный завод»", "Работа стоя, подъём тяжестей до 20 кг, шум"},
	{"Бухгалтер", "Категория II", "ООО «Торговый дом»", "Работа сидя, за компьютером, нормированный рабочий день"},
	{"Водитель автобуса", "Категория D", "ГУП «Пассажирские перевозки»", "Сменная работа, вибрация, нервно-эмоциональное напряжение"},
	{"Учитель", "Высшая категория", "МБОУ «Средняя общеобразовательная школа № 12»", "Нагрузка на голосовой аппарат, работа стоя"},
}

// mseDiagnoses are main diagnoses (ICD-10) that lead to an MSE referral.
var mseDiagnoses = []string{"I69.3", "I25.1", "I11.9", "C50.4", "C18.7", "E11.7", "G35", "M17.1", "M16.1", "J44.1", "N18.5", "F00.1"}

// sub writes an entryRelationship SUBJ (inversionInd) with one observation.
func (b *body) subj(code, inner string) {
	b.f(`<entryRelationship typeCode="SUBJ" inversionInd="true"><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entryRelationship>`, code, inner)
}

// body121 is the referral to the МСЭ bureau (121.sch, edition 6).
func body121(b *body, o *Options, pf profile, org Org) {
	g, r := o.gen, o.gen.r
	eff := o.Effective

	b.open("SCOPORG", "Направление на медико-социальную экспертизу")
	b.f(`<entry><act classCode="ACT" moodCode="RQO"><code %s/><statusCode code="active"/>`, coded("1.2.643.5.1.13.13.11.1522", "34"))
	b.f(`<performer><assignedEntity><id nullFlavor="NI"/><representedOrganization><id root="1.2.643.5.1.13.13.12.2.%s.9999"/><name>ФКУ «Главное бюро медико-социальной экспертизы по %s»</name><telecom value="tel:+7495%07d"/>`, g.region.Code, esc(g.region.Name), r.IntN(1e7))
	renderAddr(b.f, pf, g.orgAddr, "")
	b.f(`</representedOrganization></assignedEntity></performer>`)
	b.subj(coded("1.2.643.5.1.13.13.99.2.147", anyOf(r, "1", "3", "4")), "")
	repeat := anyOf(r, "1", "2")
	b.subj(coded("1.2.643.5.1.13.13.11.1007", repeat), "")
	b.subj(coded(f166, "4059"), fmt.Sprintf(`<effectiveTime value="%s"/>%s`, eff.AddDate(0, 0, -3).Format("20060102"), valST(fmt.Sprintf("%d", 100+r.IntN(900)))))
	b.subj(coded(f166, "4060"), valBL(r.IntN(5) == 0))
	b.subj(coded(f166, "4061"), valBL(r.IntN(5) == 0))
	b.subj(coded(f166, "7012"), valBL(false))
	b.subj(coded(f166, "4062"), valTS(eff.AddDate(0, 0, -3).Format("20060102")))
	b.f(`</act></entry>`)
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/></observation></entry>`, coded("1.2.643.5.1.13.13.99.2.315", "1"))
	b.f(`<entry><act classCode="ACT" moodCode="EVN"><code %s/><participant typeCode="LOC"><participantRole><id root="%s"/><identity:Props><identity:Ogrn xsi:type="ST">%s</identity:Ogrn></identity:Props>`, coded("1.2.643.5.1.13.13.99.2.856", "4"), org.OID, org.OGRN)
	renderAddr(b.f, pf, g.patAddr, "")
	b.f(`</participantRole></participant></act></entry>`)
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/></observation></entry>`, coded("1.2.643.5.1.13.13.99.2.314", anyOf(r, "1", "4")))
	b.close()

	b.open("CONSENT", "Согласие на направление на медико-социальную экспертизу получено")
	b.obs("12485", valTS(eff.AddDate(0, 0, -5).Format("20060102")))
	b.obs("12480", valCD("1.2.643.5.1.13.13.99.2.970", anyOf(r, "1", "2")))
	b.obs("12481", `<value xsi:type="CD" code="1" codeSystem="1.2.643.5.1.13.13.99.2.991" codeSystemVersion="1.1" codeSystemName="Способы информирования" displayName="Телефон"/>`)
	b.close()

	if age := eff.Year() - o.Patient.BirthDate.Year(); age >= 18 && age < 65 && r.IntN(3) != 0 {
		job := jobs[r.IntN(len(jobs))]
		b.open("WORK", job[0]+", "+job[2])
		text := func(code, t string) string {
			return fmt.Sprintf(`<component typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/><text>%s</text></observation></component>`, coded(f166, code), esc(t))
		}
		b.f(`<entry><organizer classCode="CLUSTER" moodCode="EVN"><code %s/><statusCode code="completed"/>`, coded(f166, "4073"))
		b.f(`<participant typeCode="LOC"><participantRole classCode="SDLOC">`)
		renderAddr(b.f, pf, randomAddress(r, g.region, false), "")
		b.f(`<playingEntity><name>%s</name></playingEntity></participantRole></participant>`, esc(job[2]))
		b.f("%s%s%s", text("4074", job[0]), text("4075", job[1]), text("4076", fmt.Sprintf("%d лет", 1+r.IntN(age-17))))
		b.f(`<component typeCode="COMP"><organizer classCode="CLUSTER" moodCode="EVN"><code %s/><statusCode code="completed"/>%s%s%s</organizer></component>`,
			coded(f166, "4077"), text("4078", job[0]), text("4079", job[0]), text("4080", job[0]))
		b.f("%s</organizer></entry>", text("4081", job[3]))
		b.close()
	} else {
		b.open("WORK", "Не работает")
		b.close()
	}
	b.open("EDU", "Не обучается")
	b.close()

	dx := mseDiagnoses[r.IntN(len(mseDiagnoses))]
	_, dxName := lookup(f1005, dx)
	since := eff.Year() - 1 - r.IntN(15)
	b.open("SOCANAM", "Анамнез")
	if r.IntN(2) == 0 {
		b.obs("4101", valST(strconv.Itoa(since)))
	}
	b.obs("4102", valST(fmt.Sprintf("Болеет с %d года: %s. Лечение амбулаторно и в стационаре, с %d года — ухудшение, стойкое нарушение функций.", since, dxName, eff.Year()-1)))
	b.obs("4103", valST(anyOf(r, "Рос и развивался соответственно возрасту. Проживает с семьёй.", "Вредных привычек нет. Проживает один, обслуживает себя частично.", "Образование среднее профессиональное. Проживает с супругом.")))
	if repeat == "2" {
		b.obs("4104", valST(fmt.Sprintf("%d.%d.%d/%d", 100+r.IntN(800), 1+r.IntN(99), 1+r.IntN(9999), eff.Year()-1)))
		b.obs("4107", valST("Мероприятия медицинской реабилитации выполнены частично, эффект незначительный"))
		b.obs("4064", valCD("1.2.643.5.1.13.13.11.1475", anyOf(r, "1", "2", "3")))
	}
	b.close()

	height := 150 + r.IntN(40)
	weight := 50 + r.IntN(50)
	b.open("VITALPARAM", fmt.Sprintf("Рост %d см, масса %d кг", height, weight))
	vital := func(code, value, unit string) {
		b.f(`<entry><organizer classCode="CLUSTER" moodCode="EVN"><statusCode code="completed"/><effectiveTime value="%s"/><component typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/><value xsi:type="PQ" value="%s" unit="%s"/></observation></component></organizer></entry>`,
			eff.AddDate(0, 0, -7).Format("20060102"), coded("1.2.643.5.1.13.13.99.2.262", code), value, unit)
	}
	vital("57", strconv.Itoa(height), "cm")
	vital("50", strconv.Itoa(weight), "kg")
	vital("10", fmt.Sprintf("%.1f", float64(weight)/float64(height*height)*1e4), "kg/m2")
	b.obs("4108", valCD("1.2.643.5.1.13.13.11.1492", anyOf(r, "1", "2", "3")))
	b.close()

	b.open("STATECUR", "Состояние при направлении")
	b.obs("4109", valST(anyOf(r, "Состояние средней тяжести, сознание ясное", "Состояние удовлетворительное, передвигается с опорой", "Состояние тяжёлое, нуждается в постороннем уходе")))
	if r.IntN(2) == 0 {
		b.obs("835", valST(anyOf(r, "Слабость, одышка при ходьбе", "Боли в суставах, ограничение движений", "Головокружение, слабость в правых конечностях")))
	}
	b.close()

	b.open("DGN", "Основное заболевание: "+dx+" "+dxName)
	b.f(`<entry><act classCode="ACT" moodCode="EVN"><code %s/><entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code %s/><statusCode code="completed"/><value xsi:type="CD" %s/></observation></entryRelationship></act></entry>`,
		coded("1.2.643.5.1.13.13.99.2.795", "3"), coded("1.2.643.5.1.13.13.11.1077", "1"), icd(f1005, dx))
	b.close()

	b.open("SCORES", "Оценки состояния")
	b.obs("4054", valCD("1.2.643.5.1.13.13.99.2.148", anyOf(r, "11", "12", "13")))
	b.obs("4055", valCD("1.2.643.5.1.13.13.99.2.148", anyOf(r, "15", "16")))
	b.obs("4056", valCD("1.2.643.5.1.13.13.99.2.148", anyOf(r, "18", "19")))
	b.close()

	b.f(`<component><section><code %s/><title>Рекомендации</title>`, coded(f197, "REGIME"))
	b.open("RECTREAT", "Рекомендованное лечение")
	b.obs("4111", valST("Не нуждается"))
	b.obs("4112", valST(anyOf(r, "Трость опорная", "Кресло-коляска с ручным приводом", "Не нуждается")))
	b.obs("4113", valST(anyOf(r, "Показано в санаторно-курортных организациях кардиологического профиля", "Не показано")))
	b.obs("12132", valST("Не нуждается"))
	b.close()
	b.open("RECOTHER", "Рекомендации по медицинской реабилитации")
	if r.IntN(2) == 0 {
		b.obs("4114", valST("Лечебная физкультура, массаж, физиотерапия курсами 2 раза в год"))
	}
	b.close()
	b.close()
}
