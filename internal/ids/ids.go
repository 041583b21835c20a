// Package ids validates the identifiers the hub meets in medical documents:
// СНИЛС, ЕНП (единый номер полиса ОМС), ОГРН/ОГРНИП and ISO OIDs.
//
// Every validator returns a *Error with a machine-readable reason, so the API
// can tell a sender exactly what is wrong with a number rather than just "invalid".
// Algorithms and test vectors are those of domain.md §5.
package ids

import (
	"fmt"
	"regexp"
	"strings"
)

// Reason codes returned in Error.Reason.
const (
	ReasonFormat   = "FORMAT"   // wrong length or non-digit characters
	ReasonChecksum = "CHECKSUM" // control digits do not match
	ReasonZero     = "ALL_ZEROS"
)

// Error explains why an identifier was refused.
type Error struct {
	Kind   string // "snils", "enp", "ogrn", "ogrnip", "oid"
	Value  string
	Reason string
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ids: invalid %s %q: %s (%s)", e.Kind, e.Value, e.Detail, e.Reason)
}

// digitsOnly strips the separators people and МИС put in numbers
// ("112-233-445 95") and reports whether what is left is all digits.
func digitsOnly(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	return b.String(), true
}

// NormalizeSNILS returns the 11 digits of a СНИЛС with separators removed.
func NormalizeSNILS(s string) (string, error) {
	d, ok := digitsOnly(strings.TrimSpace(s))
	if !ok || len(d) != 11 {
		return "", &Error{Kind: "snils", Value: s, Reason: ReasonFormat, Detail: "СНИЛС must be 11 digits (separators '-' and ' ' allowed)"}
	}
	return d, nil
}

// SNILSControl computes the two control digits of the 9-digit number part.
func SNILSControl(nine string) int {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(nine[i]-'0') * (9 - i)
	}
	switch {
	case sum < 100:
		return sum
	case sum == 100 || sum == 101:
		return 0
	default:
		r := sum % 101
		if r == 100 {
			return 0
		}
		return r
	}
}

// ValidateSNILS checks format and control number. Per the ПФР rules the
// control number is only checked for numbers above 001-001-998.
// It returns the normalised 11-digit form.
func ValidateSNILS(s string) (string, error) {
	d, err := NormalizeSNILS(s)
	if err != nil {
		return "", err
	}
	if d == "00000000000" {
		return "", &Error{Kind: "snils", Value: s, Reason: ReasonZero, Detail: "СНИЛС must not be all zeros"}
	}
	num := 0
	for i := 0; i < 9; i++ {
		num = num*10 + int(d[i]-'0')
	}
	if num <= 1001998 {
		return d, nil
	}
	want := SNILSControl(d[:9])
	got := int(d[9]-'0')*10 + int(d[10]-'0')
	if want != got {
		return "", &Error{Kind: "snils", Value: s, Reason: ReasonChecksum, Detail: fmt.Sprintf("control number is %02d, expected %02d", got, want)}
	}
	return d, nil
}

// FormatSNILS renders 11 digits as "XXX-XXX-XXX YY".
func FormatSNILS(d string) string {
	if len(d) != 11 {
		return d
	}
	return d[0:3] + "-" + d[3:6] + "-" + d[6:9] + " " + d[9:11]
}

// luhnDigit returns the Luhn check digit for payload (all digits).
func luhnDigit(payload string) int {
	sum := 0
	double := true // rightmost payload digit is doubled
	for i := len(payload) - 1; i >= 0; i-- {
		n := int(payload[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return (10 - sum%10) % 10
}

// ENPControl computes the control digit of a 15-digit ЕНП payload. The ФФОМС
// algorithm (odd positions ×2, even prepended, digit sum) is exactly Luhn.
func ENPControl(payload string) int { return luhnDigit(payload) }

// ValidateENP checks a 16-digit единый номер полиса ОМС and returns it normalised.
func ValidateENP(s string) (string, error) {
	d, ok := digitsOnly(strings.TrimSpace(s))
	if !ok || len(d) != 16 {
		return "", &Error{Kind: "enp", Value: s, Reason: ReasonFormat, Detail: "ЕНП must be 16 digits"}
	}
	if want := ENPControl(d[:15]); want != int(d[15]-'0') {
		return "", &Error{Kind: "enp", Value: s, Reason: ReasonChecksum, Detail: fmt.Sprintf("control digit is %c, expected %d", d[15], want)}
	}
	return d, nil
}

// modDigits returns (number formed by digits) mod m without overflow.
func modDigits(digits string, m int) int {
	r := 0
	for i := 0; i < len(digits); i++ {
		r = (r*10 + int(digits[i]-'0')) % m
	}
	return r
}

// ValidateOGRN checks a 13-digit ОГРН (control = first 12 mod 11 mod 10).
func ValidateOGRN(s string) error {
	if len(s) != 13 || !allDigits(s) {
		return &Error{Kind: "ogrn", Value: s, Reason: ReasonFormat, Detail: "ОГРН must be 13 digits"}
	}
	if want := modDigits(s[:12], 11) % 10; want != int(s[12]-'0') {
		return &Error{Kind: "ogrn", Value: s, Reason: ReasonChecksum, Detail: fmt.Sprintf("control digit is %c, expected %d", s[12], want)}
	}
	return nil
}

// ValidateOGRNIP checks a 15-digit ОГРНИП (control = first 14 mod 13 mod 10).
func ValidateOGRNIP(s string) error {
	if len(s) != 15 || !allDigits(s) {
		return &Error{Kind: "ogrnip", Value: s, Reason: ReasonFormat, Detail: "ОГРНИП must be 15 digits"}
	}
	if want := modDigits(s[:14], 13) % 10; want != int(s[14]-'0') {
		return &Error{Kind: "ogrnip", Value: s, Reason: ReasonChecksum, Detail: fmt.Sprintf("control digit is %c, expected %d", s[14], want)}
	}
	return nil
}

// ValidateOrgOGRN checks the registration number of an organisation as a
// document's custodian or the hub's organisation record carries it: a
// 13-digit ОГРН, or a 15-digit ОГРНИП (a doctor in private practice).
func ValidateOrgOGRN(s string) error {
	if len(s) == 15 {
		return ValidateOGRNIP(s)
	}
	return ValidateOGRN(s)
}

// OGRNControl returns the control digit for a 12-digit ОГРН payload.
func OGRNControl(payload string) int { return modDigits(payload, 11) % 10 }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var oidRe = regexp.MustCompile(`^[0-2](\.([1-9][0-9]*|0))+$`)

// ValidOID reports whether s is a syntactically valid OID (SCH121 У1-8).
func ValidOID(s string) bool { return len(s) <= 256 && oidRe.MatchString(s) }

// MOOIDPrefix is the ФРМО branch every medical organisation's OID lives under.
const MOOIDPrefix = "1.2.643.5.1.13.13.12.2."

// RegionFromMOOID extracts the subject code from an МО OID
// (1.2.643.5.1.13.13.12.2.<region>.<n>...). ok is false for OIDs outside ФРМО.
func RegionFromMOOID(oid string) (region string, ok bool) {
	if !strings.HasPrefix(oid, MOOIDPrefix) || !ValidOID(oid) {
		return "", false
	}
	rest := oid[len(MOOIDPrefix):]
	parts := strings.Split(rest, ".")
	if len(parts) < 2 {
		return "", false
	}
	return parts[0], true
}

// DocOID describes a structured identifier root built by the rule
// "<MO OID>.100.<MIS number>.<MIS instance>.<suffix>" (domain.md §1.4).
type DocOID struct {
	MOOID    string
	MIS      string
	Instance string
	Suffix   string // "51" document id, "50" setId, "10" patient, "70" employee
}

// ParseDocOID splits a root built by the <MO OID>.100.<MIS>.<inst>.<suffix> rule.
// The МО OID part is everything before the last ".100." that leaves exactly
// three components after it.
func ParseDocOID(root string) (DocOID, bool) {
	if !ValidOID(root) {
		return DocOID{}, false
	}
	parts := strings.Split(root, ".")
	n := len(parts)
	if n < 6 || parts[n-4] != "100" {
		return DocOID{}, false
	}
	return DocOID{
		MOOID:    strings.Join(parts[:n-4], "."),
		MIS:      parts[n-3],
		Instance: parts[n-2],
		Suffix:   parts[n-1],
	}, true
}
