// Package signed is the hub's in-memory form of a signed medical document as
// it travels between peers: the CDA bytes, their ClinicalDocument/id and
// kind, and the detached CMS signatures.
package signed

import (
	"crypto/sha256"
	"encoding/hex"
)

// Signer roles on the wire.
const (
	RoleDoctor       = "DOCTOR"
	RoleOrganization = "ORGANIZATION"
)

// Signature is one detached CMS signature.
type Signature struct {
	Role string // RoleDoctor or RoleOrganization
	CMS  []byte
}

// Document is a СЭМД with its signatures.
type Document struct {
	Kind       string // НСИ 1520 code
	Root       string // ClinicalDocument/id/@root
	Extension  string // ClinicalDocument/id/@extension
	Content    []byte
	Signatures []Signature
}

// SHA256 is the hex digest of Content, as carried in the contracts.
func (d *Document) SHA256() string {
	s := sha256.Sum256(d.Content)
	return hex.EncodeToString(s[:])
}

// Key is the document's CDA id as one string (root^extension).
func (d *Document) Key() string { return d.Root + "^" + d.Extension }
