// Package semdgen builds realistic СЭМД (CDA R2, Russian profile) for tests,
// the demo and the load generator: MSE referrals (121) with their LINKDOCS,
// MSE results (187) and return notices (130), death (58), perinatal death (59)
// and birth (76) certificates, and the documents a referral usually links
// (consultation 119, lab 75/186, instrumental 110/174, discharge epicrisis
// 77/147, ВК extract 158).
//
// Documents of the four kinds with a published schematron (121, 58, 59, 76)
// pass it with 0 failed asserts (TestOfficialSchematronsPass runs them
// through the Saxon-HE oracle): ФИАС addresses with postal codes, codes and
// display names from the ФНСИ books (the subsets in books_gen.go, made by
// mkbooks.py), every required section and observation. The header differs
// by kind where the schematrons do (see profile). Other kinds get the 121
// header shape. All carry valid СНИЛС, ЕНП and ОГРН. Defects can be asked
// for by name, so negative tests read as what they break.
//
// Known gaps: codes of books the reference set lacks (1.2.643.5.1.13.13.11.1489
// causes of death, 99.2.991 ways to inform) are written with the МКБ-10
// names / our own display name and version 1.1.
//
// Every document of the four kinds is valid against its kind's official
// XSD (internal/cdaxsd) as well as its schematron: the custodian carries no
// identity:Props (CustodianOrganization has no extension point in any of
// the schemas), so its ОГРН travels only in the patient's
// providerOrganization (121, 58, 59: the door reads it there for the
// organisation's signature) or the hub's record of the organisation (76,
// whose schema gives no organisation an extension point).
package semdgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/nsi"
)

// Org is a medical organisation with the МИС that produces its documents.
type Org struct {
	OID      string // ФРМО OID: 1.2.643.5.1.13.13.12.2.<region>.<n>
	Name     string
	OGRN     string
	MIS      string // МИС number in the id rule <MO OID>.100.<MIS>.<inst>.<suffix>
	Instance string
}

// NewOrg makes an organisation in region with a valid ОГРН; n makes it unique.
func NewOrg(region, n int) Org {
	payload := fmt.Sprintf("1%02d%02d%07d", 2*10+3, region%100, 1000000+n%9000000)[:12]
	ogrn := payload + strconv.Itoa(ids.OGRNControl(payload))
	return Org{
		OID:      fmt.Sprintf("%s%d.%d", ids.MOOIDPrefix, region, 1000+n),
		Name:     fmt.Sprintf("ГБУЗ «Городская клиническая больница № %d»", n),
		OGRN:     ogrn,
		MIS:      "1",
		Instance: "1",
	}
}

// Root builds <MO OID>.100.<MIS>.<inst>.<suffix>.
func (o Org) Root(suffix string) string {
	return o.OID + ".100." + o.MIS + "." + o.Instance + "." + suffix
}

// Person is a patient or an employee.
type Person struct {
	LocalID    string
	SNILS      string // 11 digits
	Family     string
	Given      string
	Patronymic string
	Gender     string // НСИ 1040: 1 male, 2 female
	BirthDate  time.Time
	ENP        string // patients only
	Position   string // employees: НСИ 1002 position code
	PosName    string
}

// Link is a LINKDOCS entry of an MSE referral: the linked document's id and type.
type Link struct {
	Kind   string // НСИ 1520 kind of the linked document (its type goes into the entry)
	ID     string // its ClinicalDocument/id/@extension
	Root   string // its ClinicalDocument/id/@root; default: the referral org's .51 root
	Date   time.Time
	Series string
	Number string
}

// Defect names a deliberate fault the generator plants for negative tests.
type Defect string

// Defects, each aimed at one door check.
const (
	DefectBadSNILS        Defect = "bad_snils"          // patient СНИЛС with a wrong control number
	DefectNoSNILS         Defect = "no_snils"           // patient without СНИЛС
	DefectBadENP          Defect = "bad_enp"            // ЕНП with a wrong control digit
	DefectBadOGRN         Defect = "bad_ogrn"           // the organisation's ОГРН (providerOrganization) with a wrong control digit
	DefectBadIDRoot       Defect = "bad_id_root"        // document id root ends in .52, not .51
	DefectSetIDSameAsID   Defect = "setid_same_as_id"   // setId root equal to id root
	DefectBadPatientRoot  Defect = "bad_patient_root"   // patient local id root not .10
	DefectBadOID          Defect = "bad_oid"            // custodian OID with a leading zero component
	DefectWrongCode       Defect = "wrong_code"         // ClinicalDocument/code of another type
	DefectWrongTemplate   Defect = "wrong_template"     // templateId of another edition
	DefectNoSeries        Defect = "no_series"          // certificate without series and number
	DefectFutureDate      Defect = "future_date"        // effectiveTime a day in the future
	DefectBeforeKindStart Defect = "before_kind_start"  // dated before the kind came into force
	DefectBadTime         Defect = "bad_time"           // effectiveTime with minutes but no zone
	DefectNoPatient       Defect = "no_patient"         // no recordTarget
	DefectWrongRealm      Defect = "wrong_realm"        // realmCode other than RU
	DefectTamperedSig     Defect = "tampered_signature" // one bit of each signature value flipped
	DefectSignedOther     Defect = "signed_other_bytes" // signatures made over another version of the text
)

// Options describe one document. Zero values get realistic defaults.
type Options struct {
	Kind      string     // НСИ 1520 code, required
	Org       Org        // custodian; default NewOrg(77, 1)
	ID        string     // ClinicalDocument/id/@extension; default random
	SetID     string     // setId/@extension; default derived from ID
	Version   int        // versionNumber; default 1
	Effective time.Time  // default: now, minute precision, +0300
	Patient   *Person    // default: a random patient
	Author    *Person    // default: a random doctor
	Series    string     // certificates: default derived from the region
	Number    string     // certificates: default random of the right shape
	Links     []Link     // 121 only
	Fulfills  *[2]string // 187/130: {root, extension} of the referral answered
	Recipient *Org       // default: Минздрав root for 121, none otherwise
	Defects   []Defect
	Rand      *rand.Rand // default: a fresh seeded source
	// Signers sign the document (lazily, once, when it is first wrapped by
	// Submission or Signed); default TestSigners(Org). A Signers without Org
	// makes a document signed by the doctor alone.
	Signers *Signers
	// SigningTime goes into the signatures; default Effective.
	SigningTime time.Time

	gen *genState // per-document random facts (addresses, documents, relatives)
}

func (o *Options) has(d Defect) bool {
	for _, x := range o.Defects {
		if x == d {
			return true
		}
	}
	return false
}

// Doc is a built document with the facts tests assert on.
type Doc struct {
	XML     []byte
	Kind    string
	Root    string // ClinicalDocument/id/@root
	ID      string // ClinicalDocument/id/@extension
	SetID   string // setId/@extension
	Version int
	Patient Person
	Series  string
	Number  string
	// Signers are the certificates and keys the document is signed with.
	Signers *Signers
	sigs    *sigs
}

var (
	familiesM = []string{"Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов"}
	givenM    = []string{"Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Иван", "Михаил", "Николай"}
	patrM     = []string{"Александрович", "Сергеевич", "Дмитриевич", "Иванович", "Петрович", "Николаевич"}
	givenF    = []string{"Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Анна", "Мария", "Светлана"}
	patrF     = []string{"Александровна", "Сергеевна", "Дмитриевна", "Ивановна", "Петровна", "Николаевна"}
)

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// RandomSNILS returns a valid 11-digit СНИЛС above the checked threshold.
func RandomSNILS(r *rand.Rand) string {
	nine := fmt.Sprintf("%09d", 2000000+r.IntN(997999999-2000000))
	return nine + fmt.Sprintf("%02d", ids.SNILSControl(nine))
}

// RandomENP returns a valid 16-digit ЕНП for region.
func RandomENP(r *rand.Rand, region int) string {
	payload := fmt.Sprintf("%02d%013d", region%100, r.Int64N(1e13))
	return payload + strconv.Itoa(ids.ENPControl(payload))
}

// RandomPerson makes a patient or employee with valid identifiers.
func RandomPerson(r *rand.Rand, region int) Person {
	p := Person{SNILS: RandomSNILS(r), LocalID: strconv.Itoa(100000 + r.IntN(900000))}
	if r.IntN(2) == 0 {
		p.Gender, p.Family, p.Given, p.Patronymic = "1", pick(r, familiesM), pick(r, givenM), pick(r, patrM)
	} else {
		p.Gender, p.Family, p.Given, p.Patronymic = "2", pick(r, familiesM)+"а", pick(r, givenF), pick(r, patrF)
	}
	p.BirthDate = time.Date(1940+r.IntN(70), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	p.ENP = RandomENP(r, region)
	pos := positions[r.IntN(len(positions))]
	p.Position, p.PosName = pos.Code, pos.Name1002
	return p
}

func regionOf(o Org) int {
	r, _ := ids.RegionFromMOOID(o.OID)
	n, _ := strconv.Atoi(r)
	return n
}

var msk = time.FixedZone("MSK", 3*3600)

// Build renders the document.
func Build(o Options) (Doc, error) {
	kind, ok := nsi.LookupKind(o.Kind)
	if !ok {
		return Doc{}, fmt.Errorf("semdgen: unknown kind %q", o.Kind)
	}
	r := o.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
	}
	if o.Org.OID == "" {
		o.Org = NewOrg(77, 1)
	}
	region := regionOf(o.Org)
	if o.ID == "" {
		o.ID = fmt.Sprintf("%s-%d", o.Kind, r.Int64N(1e15))
	}
	if o.SetID == "" {
		o.SetID = "set-" + o.ID
	}
	if o.Version == 0 {
		o.Version = 1
	}
	if o.Effective.IsZero() {
		o.Effective = time.Now().In(msk).Truncate(time.Minute)
	}
	if o.Patient == nil {
		p := RandomPerson(r, region)
		if kind.Type == "33" || kind.Type == "14" { // birth, perinatal death: the child
			p.BirthDate = o.Effective.AddDate(0, 0, -r.IntN(3)).Truncate(24 * time.Hour)
		}
		o.Patient = &p
	}
	if o.Author == nil {
		a := RandomPerson(r, region)
		o.Author = &a
	}
	if kind.SeriesRequired {
		if o.Series == "" {
			o.Series = fmt.Sprintf("%02d", region%100)
		}
		if o.Number == "" {
			o.Number = certNumber(r, kind.Type)
		}
	}
	if kind.Type == "34" && o.Recipient == nil {
		o.Recipient = &Org{OID: "1.2.643.5.1.13", Name: "Министерство здравоохранения Российской Федерации"}
	}
	o.gen = newGenState(r, region, o.Patient)
	d := Doc{Kind: o.Kind, Root: o.Org.Root("51"), ID: o.ID, SetID: o.SetID, Version: o.Version, Patient: *o.Patient, Series: o.Series, Number: o.Number}
	x := render(&o, kind, &d)
	if !profileOf(kind).patientSNILS && !o.has(DefectBadSNILS) {
		// A newborn or stillborn has no СНИЛС (59.sch, 76.sch: one patient
		// id); the hub notifies the certificate's recipient, the mother.
		d.Patient.SNILS = o.gen.mother.SNILS
		if o.has(DefectNoSNILS) {
			d.Patient.SNILS = ""
		}
	}
	d.XML = []byte(x)
	if o.Signers == nil {
		o.Signers = TestSigners(o.Org)
	}
	if o.SigningTime.IsZero() {
		o.SigningTime = o.Effective
	}
	d.Signers = o.Signers
	d.sigs = &sigs{signers: o.Signers, content: d.XML, signingTime: o.SigningTime, tamperSig: o.has(DefectTamperedSig)}
	if o.has(DefectSignedOther) {
		d.sigs.content = append([]byte(x), '\n')
	}
	return d, nil
}

// MustBuild is Build for tests and generators that pass known kinds.
func MustBuild(o Options) Doc {
	d, err := Build(o)
	if err != nil {
		panic(err)
	}
	return d
}

// certNumber returns a number of the shape the schematrons require:
// death 9 digits starting with 1 (58.sch У3-2), perinatal death 9 digits
// starting with 3 (59.sch), birth 10 digits starting with 1 (76.sch У3-2).
func certNumber(r *rand.Rand, docType string) string {
	switch docType {
	case "14":
		return fmt.Sprintf("3%08d", r.IntN(1e8))
	case "33":
		return fmt.Sprintf("1%09d", r.IntN(1e9))
	default:
		return fmt.Sprintf("1%08d", r.IntN(1e8))
	}
}

// ts formats an HL7 TS with minute precision and zone.
func ts(t time.Time) string { return t.In(msk).Format("200601021504-0700") }

func esc(s string) string {
	if !strings.ContainsAny(s, `<>&"`) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Varied returns the options of the n-th document of a series drawn from
// seed: organisations in different regions, patients of both sexes and all
// ages, dates through 2025, a referral (121) with from none to four links.
// The same kind, seed and n give the same document.
func Varied(kind string, seed uint64, n int) Options {
	r := rand.New(rand.NewPCG(uint64(n), seed))
	org := NewOrg(regionCodes[(n+int(seed%7))%len(regionCodes)], 100+n%900)
	o := Options{Kind: kind, Org: org, Rand: r,
		ID:        fmt.Sprintf("%s-%d-%d", kind, seed, n),
		Effective: time.Date(2025, time.Month(1+n%12), 1+n%28, 8+n%10, n%60, 0, 0, msk)}
	if kind == "121" && n%3 != 0 {
		for i := range 1 + n%4 {
			k := []string{"119", "186", "174", "147", "158"}[(n+i)%5]
			o.Links = append(o.Links, Link{Kind: k, ID: fmt.Sprintf("%s-%d-%d-%d", k, seed, n, i)})
		}
	}
	return o
}
