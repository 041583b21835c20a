package signature

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CodeRevoked is the hub's code for a signer certificate its CA has revoked
// (the registry's list has no narrower one; CA_INACCESSIBILITY is about
// reaching the CA). A revoked certificate is as doomed as an expired one:
// refused at the door and stopped by the certificate gate.
const CodeRevoked = "CERTIFICATE_REVOKED"

// revocations are the revoked serials of one issuer, from its CRL.
type revocations struct {
	serials    map[string]time.Time // serial (hex) → revocation time
	thisUpdate time.Time
	nextUpdate time.Time
}

// LoadCRLs reads every CRL in dir (*.crl, *.pem; DER or PEM "X509 CRL"
// blocks — a directory shared with CA certificates is fine),
// keeps those signed by a trusted CA, and makes them the verifier's
// revocation lists, replacing earlier ones. It returns how many were taken;
// a CRL no trusted CA signed is an error, since it would silently revoke
// nothing.
func (v *Verifier) LoadCRLs(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("signature: CRL directory: %w", err)
	}
	lists := map[string]*revocations{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".crl" && ext != ".pem") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, err
		}
		ders := [][]byte{b} // DER, or PEM with "X509 CRL" blocks (other blocks, such as certificates, are skipped)
		if ext == ".pem" || bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----")) {
			ders = nil
			for rest := b; ; {
				var blk *pem.Block
				if blk, rest = pem.Decode(rest); blk == nil {
					break
				}
				if blk.Type == "X509 CRL" {
					ders = append(ders, blk.Bytes)
				}
			}
		}
		for _, der := range ders {
			issuer, r, err := v.parseCRL(der)
			if err != nil {
				return 0, fmt.Errorf("signature: CRL %s: %w", e.Name(), err)
			}
			if prev := lists[issuer]; prev == nil || r.thisUpdate.After(prev.thisUpdate) {
				lists[issuer] = r // the newest CRL of an issuer wins
			}
		}
	}
	v.mu.Lock()
	v.crls = lists
	v.mu.Unlock()
	return len(lists), nil
}

// crlOuter is a CertificateList with its signature algorithm readable.
type crlOuter struct {
	TBS       asn1.RawValue
	Algorithm algorithmIdentifier
	Signature asn1.BitString
}

func (v *Verifier) parseCRL(der []byte) (string, *revocations, error) {
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return "", nil, err
	}
	var outer crlOuter
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return "", nil, err
	}
	signed := false
	for i, root := range v.roots {
		if bytes.Equal(root.RawSubject, rl.RawIssuer) &&
			checkIssuerSignature(rl.RawTBSRevocationList, outer.Algorithm.Algorithm, outer.Signature.Bytes, v.rootKeys[i]) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return "", nil, fmt.Errorf("no trusted CA signed it (issuer %s)", rl.Issuer)
	}
	r := &revocations{serials: map[string]time.Time{}, thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate}
	for _, e := range rl.RevokedCertificateEntries {
		r.serials[e.SerialNumber.Text(16)] = e.RevocationTime
	}
	return string(rl.RawIssuer), r, nil
}

// StaleCRLs lists the issuers whose CRL is past its nextUpdate at now: the
// revocation data may be missing recent revocations, which operators must
// hear about (the hub keeps using the stale list rather than none).
func (v *Verifier) StaleCRLs(now time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for issuer, r := range v.crls {
		if !r.nextUpdate.IsZero() && now.After(r.nextUpdate) {
			var name pkix.RDNSequence
			if _, err := asn1.Unmarshal([]byte(issuer), &name); err == nil {
				var n pkix.Name
				n.FillFromRDNSequence(&name)
				out = append(out, fmt.Sprintf("%s (next update was due %s)", n, r.nextUpdate.Format(time.RFC3339)))
			}
		}
	}
	return out
}

// Revoked reports whether the certificate of issuer (its DER subject) and
// serial (hex) is revoked as of now: what the certificate gate asks.
func (v *Verifier) Revoked(rawIssuer []byte, serial string, now time.Time) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.crls[string(rawIssuer)]
	if r == nil {
		return time.Time{}, false
	}
	t, ok := r.serials[serial]
	return t, ok && !t.After(now)
}
