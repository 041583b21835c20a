package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
)

// exitError carries a process exit status other than 1 (Run uses it).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// usageError is exit status 2: bad flags, unreadable files, a broken
// schematron or books directory — nothing was said about the document.
func usageError(err error) error { return &exitError{code: 2, err: err} }

// runValidate prints what the door would say of one document, for a МИС
// developer fixing it: the door's own checks (intake.Service.CheckAll, the
// same code Submit runs) — the header, ФЛК level 1 (the official schematron
// of the kind) and ФЛК level 2 (codes against the reference books, СНИЛС
// checksums, registered organisations) — with every failed rule on a line
// of its own, "<code> <rule> <path>: <message>" ("-" for a problem with no
// rule number or no path; an XSD error has line:column for its rule). The
// kind's official XSD (or -xsd FILE.xsd) runs between the header and
// ФЛК level 1, as at the door. Unlike the door it goes on after a refused stage,
// so one run lists the problems of every stage; the first line names the
// door's answer. Exit status 0 when accepted, 1 when refused, 2 on usage or
// I/O errors.
//
// Signatures are checked only when given (-doctor-sig, -org-sig: the door's
// intake.Signatures with the configured CAs and revocation lists); the
// custodian is not compared with a submitting system. The organisation check of level 2 needs
// the hub's database: without DATABASE_URL it is skipped, and said so on
// stderr. HUB_NSI_CHECK=false switches level 2 off, as at the door.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hub validate [-kind K] [-xsd FILE.xsd | -xsd-dir DIR] [-schematron FILE.sch | -schematron-dir DIR] [-nsi-dir DIR] [-doctor-sig F -org-sig F [-ca-dir DIR]] FILE.xml")
		fs.PrintDefaults()
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return usageError(err)
	}
	kindFlag := fs.String("kind", "", "document kind (НСИ 1520 code) the МИС would declare; default: found from ClinicalDocument/code and templateId")
	schDir := fs.String("schematron-dir", cfg.SchematronDir, "official schematrons (*.sch); default HUB_SCHEMATRON_DIR, else the bundled ones")
	xsdFile := fs.String("xsd", "", "check against this XML schema (with what it includes from its directory) instead of the kind's official XSD")
	xsdDir := fs.String("xsd-dir", cfg.XSDDir, "official CDA schemas (<kind>/CDA.xsd); default HUB_XSD_DIR, else the bundled ones")
	schFile := fs.String("schematron", "", "check against this schematron file (.sch) instead of the kind's from -schematron-dir")
	nsiDir := fs.String("nsi-dir", cfg.NSIDir, "ФНСИ reference books for level 2; default HUB_NSI_DIR, else the bundled ones")
	var doctorSigs, orgSigs fileList
	fs.Var(&doctorSigs, "doctor-sig", "a doctor's detached CMS signature over FILE.xml (DER, base64 or PEM; repeatable): the signatures are then checked as at the door")
	fs.Var(&orgSigs, "org-sig", "the organisation's detached CMS signature over FILE.xml (DER, base64 or PEM)")
	caDir := fs.String("ca-dir", cfg.TrustedCADir, "trusted CA certificates for -doctor-sig/-org-sig (default HUB_TRUSTED_CA_DIR)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError(errors.New("exactly one document is required"))
	}
	content, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return usageError(err)
	}
	set, err := schematron.LoadDir(*schDir)
	if err != nil {
		return usageError(fmt.Errorf("schematrons: %w", err))
	}
	svc := &intake.Service{Schematrons: set, Limits: intake.DocLimits(cfg)}
	var books *refbook.Registry
	if cfg.NSICheck {
		settings, err := refbook.LoadSettings(cfg.NSISettings)
		if err != nil {
			return usageError(fmt.Errorf("HUB_NSI_SETTINGS: %w", err))
		}
		if books, err = refbook.NewRegistryWith(*nsiDir, settings); err != nil {
			return usageError(fmt.Errorf("reference books: %w", err))
		}
		svc.Level2 = &refbook.Checker{Books: books.Books, Settings: books.Settings()}
		if cfg.DatabaseURL != "" {
			_, st, err := openDB(ctx)
			if err != nil {
				return usageError(err)
			}
			defer st.Pool.Close()
			svc.Level2.Orgs = intake.StoreOrgs{Store: st}
		} else {
			fmt.Fprintln(stderr, "note: DATABASE_URL is unset: ФЛК level 2 does not check that the organisations are registered in the hub")
		}
	} else {
		fmt.Fprintln(stderr, "note: HUB_NSI_CHECK is off: ФЛК level 2 is not run, as at the door")
	}

	kind := *kindFlag
	if kind == "" {
		if kind, err = kindOf(content, svc.Limits, set, stderr); err != nil {
			return usageError(err)
		}
	}
	// The XSD stage: an explicit schema stands for the kind's, as the door
	// would run it; otherwise the configured (or bundled) official ones.
	if *xsdFile != "" {
		x, err := cdaxsd.CompileFile(*xsdFile)
		if err != nil {
			return usageError(fmt.Errorf("-xsd: %w", err))
		}
		svc.XSD = cdaxsd.Set{kind: x}
	} else if svc.XSD, err = cdaxsd.LoadDir(*xsdDir); err != nil {
		return usageError(fmt.Errorf("XSD: %w", err))
	}
	if *schFile != "" { // an explicit file: the kind's schematron is this one
		b, err := os.ReadFile(*schFile)
		if err != nil {
			return usageError(err)
		}
		sch, err := schematron.Compile(b)
		if ce := (*schematron.CompileError)(nil); errors.As(err, &ce) {
			ce.File = *schFile // FILE:LINE: rule N (context …): what
			return usageError(ce)
		} else if err != nil {
			return usageError(fmt.Errorf("%s: %w", *schFile, err))
		}
		svc.Schematrons = schematron.Set{kind: sch}
	}
	if sch := svc.Schematrons[kind]; sch != nil && sch.Err != nil {
		// The door would refuse the kind as unconfigured (KIND_UNCONFIGURED);
		// here the broken file is the problem to fix: a usage error naming it.
		return usageError(fmt.Errorf("schematron of kind %s: %w", kind, sch.Err))
	}
	var sigs []store.NewSignature
	if len(doctorSigs)+len(orgSigs) > 0 {
		if svc.Signatures, err = doorSignatures(cfg, *caDir, svc.Level2); err != nil {
			return usageError(err)
		}
		for _, f := range []struct {
			role  string
			paths []string
		}{{store.SignerDoctor, doctorSigs}, {store.SignerOrganization, orgSigs}} {
			for _, path := range f.paths {
				b, err := os.ReadFile(path)
				if err != nil {
					return usageError(err)
				}
				sigs = append(sigs, store.NewSignature{Role: f.role, CMS: b})
			}
		}
	}
	now := time.Now()
	checked, refusals, err := svc.CheckAll(ctx, content, semd.Claims{Kind: kind, Now: now})
	if err != nil {
		return usageError(err)
	}
	// The signatures come last, as at the door, and only over a document
	// whose header could be read.
	if svc.Signatures != nil && checked != nil && checked.Kind != nil {
		if err := svc.Signatures.Check(content, checked.Header, checked.Kind, sigs, now); err != nil {
			var ce *codes.Error
			if !errors.As(err, &ce) {
				return usageError(err)
			}
			refusals = append(refusals, ce)
		}
	}
	if len(refusals) > 0 {
		first := refusals[0]
		fmt.Fprintf(stdout, "REFUSED: kind %s: the door answers %d %s\n", kind, first.Status, first.Code)
		for _, r := range refusals {
			printRefusal(stdout, r)
		}
		printWarnings(stdout, checked)
		return &exitError{code: 1, err: fmt.Errorf("%s refused: %s", fs.Arg(0), first.Code)}
	}
	fmt.Fprint(stdout, okLine(checked, set, books, content))
	printWarnings(stdout, checked)
	if len(sigs) > 0 {
		fmt.Fprintf(stdout, "OK: %d signature(s) verified as at the door\n", len(sigs))
	}
	return nil
}

// printWarnings writes the reference books level 2 did not check, one
// "WARNING <code> <oid>: <message>" line each: not refused, never passed.
func printWarnings(w io.Writer, c *intake.Checked) {
	if c == nil {
		return
	}
	for _, x := range c.Warnings {
		fmt.Fprintf(w, "WARNING %s %s: %s\n", x.Code, x.OID, x.Message)
	}
}

// fileList is a repeatable file flag.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

// doorSignatures is the door's signature policy (app.Build): the trusted and
// intermediate CAs and the revocation lists of the configuration, and, with
// a database (level 2's organisations), the ОГРН on record for a custodian.
func doorSignatures(cfg *config.Config, caDir string, level2 *refbook.Checker) (*intake.Signatures, error) {
	if caDir == "" {
		return nil, errors.New("checking signatures needs -ca-dir or HUB_TRUSTED_CA_DIR")
	}
	roots, err := signature.LoadRoots(caDir)
	if err != nil {
		return nil, fmt.Errorf("trusted CAs: %w", err)
	}
	sigs := &intake.Signatures{Verifier: signature.NewVerifier(roots)}
	if cfg.IntermediateCADir != "" {
		inters, err := signature.LoadRoots(cfg.IntermediateCADir)
		if err != nil {
			return nil, fmt.Errorf("HUB_INTERMEDIATE_CA_DIR: %w", err)
		}
		sigs.Verifier.SetIntermediates(inters)
	}
	if cfg.CRLDir != "" {
		if _, err := sigs.Verifier.LoadCRLs(cfg.CRLDir); err != nil {
			return nil, fmt.Errorf("HUB_CRL_DIR: %w", err)
		}
	}
	if level2 != nil {
		if o, ok := level2.Orgs.(intake.StoreOrgs); ok {
			sigs.Orgs = o.Store
		}
	}
	return sigs, nil
}

// okLine is "OK: <kind>, <n> rules checked" and what level 2 looked at.
func okLine(c *intake.Checked, set schematron.Set, books *refbook.Registry, content []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "OK: %s, ", c.Kind.Kind)
	if c.XSD {
		b.WriteString("official XSD valid, ")
	}
	if c.Rules > 0 {
		fmt.Fprintf(&b, "%d rules checked (official schematron)", c.Rules)
	} else {
		fmt.Fprintf(&b, "0 rules checked (no official schematron for the kind: header checks only; schematrons for %s)",
			strings.Join(set.Kinds(), ", "))
	}
	if c.Level2 {
		if sc, err := refbook.ScanDocumentWith(books.Books(), books.Settings(), content); err == nil {
			fmt.Fprintf(&b, "; level 2: %d codes checked against %d reference books", sc.Codes, len(books.Books().All()))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// printRefusal writes one line per problem of a refusal; a refusal with no
// details is one line of its own.
func printRefusal(w io.Writer, e *codes.Error) {
	line := func(code, rule, path, msg string) {
		fmt.Fprintf(w, "%s %s %s: %s\n", code, orDash(rule), orDash(path), msg)
	}
	switch d := e.Details.(type) {
	case []intake.FLKProblem:
		for _, p := range d {
			line(p.Code, p.Rule, p.Path, p.Message)
		}
	case []intake.SignatureProblem:
		for _, p := range d {
			line(p.Code, "", fmt.Sprintf("signatures[%d] (%s)", p.Index, p.Role), p.Message)
		}
	case []cdaxsd.Problem:
		for _, p := range d {
			line(p.Code, fmt.Sprintf("%d:%d", p.Line, p.Column), p.Path, p.Message)
		}
	case []semd.Problem:
		for _, p := range d {
			line(p.Code, "", p.Path, p.Message)
		}
	case []refbook.Problem:
		for _, p := range d {
			line(p.Code, "", p.Path, p.Message)
		}
	default:
		line(e.Code, "", "", e.Message)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// kindOf finds the kind from the document as the door's header checks
// read it (ClinicalDocument/code and templateId, nsi.KindsOf). Of several
// candidates (a certificate and its paper-form twin share type and
// template) it keeps those valid on the document's date, then those with an
// official schematron; still several is a usage error asking for -kind. A
// document the header parser cannot read yields "" and the door's refusal.
func kindOf(content []byte, limits semd.Limits, set schematron.Set, stderr io.Writer) (string, error) {
	h, err := semd.ParseLimited(content, limits)
	if err != nil {
		return "", nil // CheckAll answers with the door's parse refusal
	}
	if len(h.TemplateIDs) != 1 {
		return "", fmt.Errorf("the document has %d templateIds, so its kind is not known: give -kind", len(h.TemplateIDs))
	}
	cands := nsi.KindsOf(h.Code.Code, h.TemplateIDs[0])
	if len(cands) == 0 {
		return "", fmt.Errorf("no kind of НСИ 1.2.643.5.1.13.13.11.1520 has document type %q with templateId %q: give -kind", h.Code.Code, h.TemplateIDs[0])
	}
	keep := func(ok func(*nsi.Kind) bool) {
		var out []*nsi.Kind
		for _, k := range cands {
			if ok(k) {
				out = append(out, k)
			}
		}
		if len(out) > 0 {
			cands = out
		}
	}
	keep(func(k *nsi.Kind) bool { return k.ValidOn(h.EffectiveTime) })
	keep(func(k *nsi.Kind) bool { return set[k.Kind] != nil })
	if len(cands) > 1 {
		names := make([]string, len(cands))
		for i, k := range cands {
			names[i] = k.Kind + " (" + k.Name + ")"
		}
		return "", fmt.Errorf("the document may be of kind %s: give -kind", strings.Join(names, " or "))
	}
	if all := nsi.KindsOf(h.Code.Code, h.TemplateIDs[0]); len(all) > 1 {
		fmt.Fprintf(stderr, "note: kind %s taken from the document (also possible:", cands[0].Kind)
		for _, k := range all {
			if k != cands[0] {
				fmt.Fprintf(stderr, " %s", k.Kind)
			}
		}
		fmt.Fprintln(stderr, "; give -kind to check as another)")
	}
	return cands[0].Kind, nil
}
