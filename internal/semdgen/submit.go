package semdgen

import (
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"

	"github.com/emdhub/hub/internal/signed"
)

// Submission is the JSON body of POST /api/v1/documents.
type Submission struct {
	Kind       string          `json:"kind"`
	LocalID    string          `json:"local_id"`
	Document   string          `json:"document"`
	Signatures []SubmissionSig `json:"signatures"`
}

// SubmissionSig is one detached signature in a Submission.
type SubmissionSig struct {
	Role string `json:"role"`
	CMS  string `json:"cms"`
}

// placeholderCMS is a DER SEQUENCE {role, SHA-256 of the document}: it has
// the outer shape of a CMS container, which is all the door checks of the
// foundation look at. Real GOST CMS signatures replace it when signature
// verification lands (issue 5).
func placeholderCMS(role string, content []byte) []byte {
	sum := sha256.Sum256(content)
	b, err := asn1.Marshal(struct {
		Role   string
		Digest []byte
	}{role, sum[:]})
	if err != nil {
		panic(err)
	}
	return b
}

// Submission wraps the document for the intake API, with a doctor's and an
// organisation's signature.
func (d Doc) Submission() Submission {
	enc := base64.StdEncoding
	return Submission{
		Kind: d.Kind, LocalID: d.ID, Document: enc.EncodeToString(d.XML),
		Signatures: []SubmissionSig{
			{Role: "doctor", CMS: enc.EncodeToString(placeholderCMS("doctor", d.XML))},
			{Role: "organization", CMS: enc.EncodeToString(placeholderCMS("organization", d.XML))},
		},
	}
}

// Signed returns the document as it travels between peers, with a doctor's
// and an organisation's signature.
func (d Doc) Signed() signed.Document {
	return signed.Document{
		Kind: d.Kind, Root: d.Root, Extension: d.ID, Content: d.XML,
		Signatures: []signed.Signature{
			{Role: signed.RoleDoctor, CMS: placeholderCMS("doctor", d.XML)},
			{Role: signed.RoleOrganization, CMS: placeholderCMS("organization", d.XML)},
		},
	}
}
