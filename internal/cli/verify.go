package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signature"
)

// runVerifySignature checks one detached signature over one document the
// way the door does, for operators answering "why was this refused?"
// without a database: the signer, the certificate's validity, and the
// registry code of the first failure. Exit status 1 when refused.
func runVerifySignature(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-signature", flag.ContinueOnError)
	fs.SetOutput(stderr)
	docPath := fs.String("doc", "", "the signed document (CDA XML, exactly as signed)")
	sigPath := fs.String("sig", "", "the detached CMS signature (DER, base64 or PEM)")
	caDir := fs.String("ca-dir", getenv("HUB_TRUSTED_CA_DIR"), "trusted CA certificates (default HUB_TRUSTED_CA_DIR)")
	interDir := fs.String("intermediate-dir", getenv("HUB_INTERMEDIATE_CA_DIR"), "intermediate CA certificates chains may pass through (default HUB_INTERMEDIATE_CA_DIR)")
	at := fs.String("at", "", "check time, RFC 3339 (default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *docPath == "" || *sigPath == "" || *caDir == "" {
		fs.Usage()
		return errors.New("-doc, -sig and a CA directory (-ca-dir or HUB_TRUSTED_CA_DIR) are required")
	}
	doc, err := os.ReadFile(*docPath)
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(*sigPath)
	if err != nil {
		return err
	}
	roots, err := signature.LoadRoots(*caDir)
	if err != nil {
		return err
	}
	v := signature.NewVerifier(roots)
	if *interDir != "" {
		inters, err := signature.LoadRoots(*interDir)
		if err != nil {
			return fmt.Errorf("intermediate CAs: %w", err)
		}
		v.SetIntermediates(inters)
	}
	now := time.Now()
	if *at != "" {
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("-at: %w", err)
		}
	}
	// The document's date, when it is a CDA the hub can read.
	var docTime time.Time
	if hdr, err := semd.Parse(doc); err == nil {
		docTime = hdr.EffectiveTime
		fmt.Fprintf(stdout, "document   %s (%s), created %s\n", hdr.ID, hdr.Code.Code, docTime.Format(time.RFC3339))
	} else {
		fmt.Fprintf(stdout, "document   not a readable CDA (%v): its date is not checked\n", err)
	}
	if p, err := signature.Parse(sig); err == nil {
		c := p.Signer
		fmt.Fprintf(stdout, "signer     %s\nissuer     %s\nserial     %s\nvalid      %s – %s\n", c.Subject, c.Issuer, c.SerialNumber.Text(16),
			c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
		if o := signature.OGRN(c); o != "" {
			fmt.Fprintf(stdout, "ОГРН       %s\n", o)
		}
		if !p.SigningTime.IsZero() {
			fmt.Fprintf(stdout, "signed at  %s\n", p.SigningTime.Format(time.RFC3339))
		}
	}
	res, err := v.Verify(doc, sig, docTime, now)
	if err != nil {
		var se *signature.Error
		if errors.As(err, &se) {
			fmt.Fprintf(stdout, "REFUSED    %s: %s\n", se.Code, se.Message)
			return errors.New("signature refused")
		}
		return err
	}
	fmt.Fprintf(stdout, "OK         GOST R 34.10-2012, %d-bit key; chain to a trusted CA; valid on the document's date and at %s\n", res.KeyBits, now.Format(time.RFC3339))
	return nil
}
