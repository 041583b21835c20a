// Package kind names, as typed constants in one place, the document kinds
// (НСИ 1.2.643.5.1.13.13.11.1520 "Виды СЭМД", the kind a МИС declares) and
// document types (НСИ 1.2.643.5.1.13.13.11.1522, ClinicalDocument/code)
// the hub's flows branch on. The full registry is internal/nsi; this
// package holds only what code compares against.
package kind

// Code is an НСИ 1520 kind code ("58": death certificate, edition 5).
type Code string

// DocType is an НСИ 1522 document type code ("34": MSE referral), shared
// by every edition of a kind.
type DocType string

// Document types the flows branch on.
const (
	TypeMSEReferral DocType = "34"  // направление на медико-социальную экспертизу: starts an MSE referral flow
	TypeMSEResult   DocType = "35"  // сведения о результатах МСЭ (the bureau's result)
	TypeBirth       DocType = "33"  // медицинское свидетельство о рождении
	TypeDeath       DocType = "13"  // медицинское свидетельство о смерти
	TypePerinatal   DocType = "14"  // медицинское свидетельство о перинатальной смерти
	TypeMSEReturn   DocType = "352" // уведомление о причинах возврата направления на МСЭ
	// Сведения of a certificate issued on paper.
	TypeDeathPaper     DocType = "353"
	TypePerinatalPaper DocType = "354"
)

// CivilCertificate is a kind of civil-registration certificate
// (медицинское свидетельство) delivered to ЕГР ЗАГС and ЕПГУ. Not an X.509
// certificate: those are "signer certificates" throughout the hub.
type CivilCertificate string

// Civil-registration certificate kinds (ЕГР ЗАГС's certificate types).
const (
	Birth          CivilCertificate = "BIRTH"
	Death          CivilCertificate = "DEATH"
	PerinatalDeath CivilCertificate = "PERINATAL_DEATH"
)

// civilCertificates maps the 1520 kinds ЕГР ЗАГС takes to their type: every
// edition, and the "сведения" variants.
var civilCertificates = map[Code]CivilCertificate{
	"76": Birth, "167": Birth, "118": Birth, "168": Birth,
	"58": Death, "125": Death, "113": Death, "126": Death,
	"59": PerinatalDeath, "127": PerinatalDeath, "114": PerinatalDeath, "128": PerinatalDeath,
}

// CivilCertificateOf returns the civil-registration certificate type of a
// kind; ok is false for kinds that are not delivered to ЕГР ЗАГС and ЕПГУ.
func CivilCertificateOf(k Code) (CivilCertificate, bool) {
	c, ok := civilCertificates[k]
	return c, ok
}

// CivilCertificateKinds lists the kinds CivilCertificateOf knows.
func CivilCertificateKinds() []Code {
	out := make([]Code, 0, len(civilCertificates))
	for k := range civilCertificates {
		out = append(out, k)
	}
	return out
}
