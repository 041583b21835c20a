// Package testpki is the test PKI: it issues GOST R 34.10-2012
// certificates and CRLs from a test CA and makes detached CMS signatures,
// for tests, the document generator, the simulators and the demo. The hub
// never signs or issues anything, so no package on its serving path (api,
// intake, workflow, store, signature) imports this one (TestServingPathHasNoTestPKI
// in internal/signature checks it). It imports nothing of the hub but
// gost, so signature's own tests can use it.
package testpki

import "encoding/asn1"

var (
	oidOGRN  = asn1.ObjectIdentifier{1, 2, 643, 100, 1} // subject ОГРН (Приказ ФСБ № 795)
	oidSNILS = asn1.ObjectIdentifier{1, 2, 643, 100, 3} // subject СНИЛС

	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidStreebog256   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 2}
	oidStreebog512   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 3}
	oidGost256       = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 1}
	oidGost512       = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2}
	oidGost256Sign   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 2}
	oidGost512Sign   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 3}
)

// algorithmIdentifier and keyParams read a PKCS#8 key's algorithm.
type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type keyParams struct {
	ParamSet  asn1.ObjectIdentifier
	DigestSet asn1.ObjectIdentifier `asn1:"optional"`
}
