package signature

import (
	"crypto/x509"
	"encoding/asn1"
)

// Subject attributes of Russian qualified certificates (Приказ ФСБ № 795).
var (
	OIDOGRN  = asn1.ObjectIdentifier{1, 2, 643, 100, 1}
	OIDSNILS = asn1.ObjectIdentifier{1, 2, 643, 100, 3}
	OIDINN   = asn1.ObjectIdentifier{1, 2, 643, 3, 131, 1, 1}
)

// OGRN returns the ОГРН in a certificate's subject, or "".
func OGRN(c *x509.Certificate) string { return subjectAttr(c, OIDOGRN) }

// SNILS returns the СНИЛС in a certificate's subject, or "".
func SNILS(c *x509.Certificate) string { return subjectAttr(c, OIDSNILS) }

func subjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oid) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}
