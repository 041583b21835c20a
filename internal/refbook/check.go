package refbook

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/semd"
)

// OrgNotFound is the registry's code for an organisation OID that is not a
// known organisation (НСИ 305 id 27); the hub's "ФРМО" is its own register.
const OrgNotFound = codes.OrgNotFoundInFRMO

// Orgs tells which organisation OIDs are registered in the hub. The checker
// asks once per document, with every candidate OID of the document.
type Orgs interface {
	RegisteredOrgs(ctx context.Context, oids []string) (map[string]bool, error)
}

// Checker is ФЛК level 2 over a whole document, header and body:
//
//   - every element with @code and @codeSystem whose code system is a book
//     the hub holds: a codeSystemVersion the hub does not hold is refused
//     with INVALID_DICTIONARY_VERSION (the held versions are the hub's list
//     of admissible ones; an operator drops a new version into HUB_NSI_DIR);
//     with no version the newest held one is used; a code absent from that
//     version is refused with INVALID_ELEMENT_VALUE_CODE naming the book, its
//     version and the code. Code systems the hub holds no book for (HL7
//     vocabularies, local ids, books not bundled) are not refused.
//   - every СНИЛС id (root 1.2.643.100.3, anywhere: patient, every author,
//     authenticators, guardians, performers) must pass its checksum
//     (INVALID_SNILS). At the door level 2 runs only when the header checks
//     (semd.Check, which checks the patient's, the first author's and the
//     legal authenticator's СНИЛС) passed, so no СНИЛС is refused twice.
//   - the organisations that made the document — custodian, and the
//     representedOrganization of authors, the legal authenticator and
//     authenticators — must be registered in the hub (ORG_NOT_FOUND_IN_FRMO);
//     a subdivision <MO OID>.0.<n>… counts as its organisation's. Other
//     organisations (the recipient, the patient's providerOrganization, the
//     MSE bureau as performer) are not the hub's clients and are not looked
//     up. With Orgs nil this check is skipped.
type Checker struct {
	Books func() *Books // the current books (Registry.Books)
	Orgs  Orgs
}

// Check runs level 2 over content (a well-formed CDA document: the door
// parses it first). A refusal is a *semd.CheckError listing every problem
// in document order; other errors are failures of the check itself.
func (c *Checker) Check(ctx context.Context, content []byte) error {
	sc, err := ScanDocument(c.Books(), content)
	if err != nil {
		return err
	}
	problems := sc.Problems
	if c.Orgs != nil && len(sc.OrgRefs) > 0 {
		var cands []string
		for _, r := range sc.OrgRefs {
			for _, o := range orgCandidates(r.OID) {
				if !slices.Contains(cands, o) {
					cands = append(cands, o)
				}
			}
		}
		reg, err := c.Orgs.RegisteredOrgs(ctx, cands)
		if err != nil {
			return fmt.Errorf("refbook: registered organisations: %w", err)
		}
		for _, r := range sc.OrgRefs {
			if !slices.ContainsFunc(orgCandidates(r.OID), func(o string) bool { return reg[o] }) {
				problems = append(problems, semd.Problem{Code: OrgNotFound, Path: r.Path,
					Message: fmt.Sprintf("organisation %s (%s) is not registered in the hub", r.OID, r.Role)})
			}
		}
		slices.SortStableFunc(problems, func(a, b semd.Problem) int { return orderOf(sc, a) - orderOf(sc, b) })
	}
	if len(problems) > 0 {
		return &semd.CheckError{Problems: problems}
	}
	return nil
}

// orderOf keeps problems in document order once the organisation ones are added.
func orderOf(sc *Scan, p semd.Problem) int {
	if i, ok := sc.order[p.Path]; ok {
		return i
	}
	return 0
}

// orgCandidates is the OID and, for a subdivision <MO OID>.0.<n>…, each
// shorter prefix ending before a ".0." component: the organisation it
// belongs to.
func orgCandidates(oid string) []string {
	out := []string{oid}
	for i := len(oid) - 2; i > 0; i-- {
		if strings.HasPrefix(oid[i:], ".0.") {
			out = append(out, oid[:i])
		}
	}
	return out
}

// OrgRef is an organisation id the document names in a role that must be a
// registered organisation.
type OrgRef struct {
	OID, Path, Role string
}

// Scan is what one pass over a document found.
type Scan struct {
	Problems []semd.Problem // code and СНИЛС problems, in document order
	OrgRefs  []OrgRef       // organisations to look up
	Codes    int            // coded elements checked against a book
	order    map[string]int // path → position, to merge the organisation problems in
}

// orgRoles are the header elements whose id (without extension) is the
// organisation that made the document: parent chain of the id, local names.
var orgRoles = map[string]string{
	"ClinicalDocument/custodian/assignedCustodian/representedCustodianOrganization": "custodian",
	"ClinicalDocument/author/assignedAuthor/representedOrganization":                "author's organisation",
	"ClinicalDocument/legalAuthenticator/assignedEntity/representedOrganization":    "legal authenticator's organisation",
	"ClinicalDocument/authenticator/assignedEntity/representedOrganization":         "authenticator's organisation",
}

type frame struct {
	name     string      // as written (prefix:local)
	local    string      // local name
	pos      int         // position among the parent's children of the same name
	children []nameCount // child name → count so far
}

type nameCount struct {
	name string
	n    int
}

// pathOf builds the XPath of the innermost element, with positions:
// /ClinicalDocument/recordTarget[1]/patientRole[1]/id[2]. Built only for
// the elements that are reported.
func pathOf(stack []frame) string {
	var b strings.Builder
	for i, f := range stack {
		b.WriteByte('/')
		b.WriteString(f.name)
		if i > 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.pos))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// ScanDocument walks content once, checking codes against books and СНИЛС
// checksums, and collecting the organisation ids to look up.
func ScanDocument(books *Books, content []byte) (*Scan, error) {
	if books == nil {
		books = &Books{}
	}
	sc := &Scan{order: map[string]int{}}
	d := xml.NewDecoder(bytes.NewReader(content))
	d.Strict = true
	var stack []frame
	var localPath strings.Builder
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("refbook: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != "" {
				name = t.Name.Space + ":" + t.Name.Local
			}
			pos := 1
			if len(stack) > 0 {
				p := &stack[len(stack)-1]
				i := slices.IndexFunc(p.children, func(c nameCount) bool { return c.name == name })
				if i < 0 {
					p.children = append(p.children, nameCount{name, 0})
					i = len(p.children) - 1
				}
				p.children[i].n++
				pos = p.children[i].n
			}
			stack = append(stack, frame{name: name, local: t.Name.Local, pos: pos})
			sc.element(books, stack, t.Attr, &localPath)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("refbook: unbalanced end element")
			}
			stack = stack[:len(stack)-1]
		}
	}
	return sc, nil
}

func attr(attrs []xml.Attr, local string) (string, bool) {
	for _, a := range attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

func (sc *Scan) add(code, path, format string, args ...any) {
	if _, ok := sc.order[path]; !ok {
		sc.order[path] = len(sc.order)
	}
	sc.Problems = append(sc.Problems, semd.Problem{Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (sc *Scan) element(books *Books, stack []frame, attrs []xml.Attr, lp *strings.Builder) {
	if _, null := attr(attrs, "nullFlavor"); null {
		return
	}
	code, _ := attr(attrs, "code")
	system, _ := attr(attrs, "codeSystem")
	if code != "" && system != "" {
		if vs := books.Versions(system); len(vs) > 0 {
			sc.Codes++
			version, _ := attr(attrs, "codeSystemVersion")
			b, _ := books.Lookup(system, version)
			switch {
			case b == nil:
				held := make([]string, len(vs))
				for i, v := range vs {
					held[i] = v.Version
				}
				sc.add(codes.InvalidDictionaryVersion, pathOf(stack)+"/@codeSystemVersion",
					"НСИ %s «%s»: version %s is not held by the hub (held: %s)", system, vs[0].Name, version, strings.Join(held, ", "))
			case !b.Has(code):
				sc.add(codes.InvalidElementValueCode, pathOf(stack)+"/@code",
					"НСИ %s «%s», version %s, has no code %q", system, b.Name, b.Version, code)
			}
		}
	}
	if stack[len(stack)-1].local != "id" {
		return
	}
	root, _ := attr(attrs, "root")
	ext, hasExt := attr(attrs, "extension")
	if root == semd.SNILSRoot && strings.TrimSpace(ext) != "" {
		if _, err := ids.ValidateSNILS(strings.TrimSpace(ext)); err != nil {
			msg := err.Error()
			var ie *ids.Error
			if errors.As(err, &ie) {
				msg = fmt.Sprintf("СНИЛС %q: %s", ie.Value, ie.Detail)
			}
			sc.add(codes.InvalidSNILS, pathOf(stack)+"/@extension", "%s", msg)
		}
		return
	}
	if hasExt || root == "" || len(stack) < 2 {
		return
	}
	lp.Reset()
	for i, f := range stack[:len(stack)-1] {
		if i > 0 {
			lp.WriteByte('/')
		}
		lp.WriteString(f.local)
	}
	if role, ok := orgRoles[lp.String()]; ok {
		path := pathOf(stack)
		if _, ok := sc.order[path+"/@root"]; !ok {
			sc.order[path+"/@root"] = len(sc.order)
		}
		sc.OrgRefs = append(sc.OrgRefs, OrgRef{OID: strings.TrimSpace(root), Path: path + "/@root", Role: role})
	}
}
