package refbook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/schematron"
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
//     the hub holds (under its primary OID or another its passport lists),
//     as the book's setting says (Settings; DefaultSettings when nil):
//     a codeSystemVersion the hub does not hold is refused with
//     INVALID_DICTIONARY_VERSION (the held versions are the hub's list of
//     admissible ones; an operator drops a new version into HUB_NSI_DIR),
//     with no version the newest held one is used; a code absent from that
//     version is refused with INVALID_ELEMENT_VALUE_CODE; a codeSystemName
//     that is not the book's full name (nor one its setting adds) with
//     INVALID_DICTIONARY_OID (the OID and the name designate different
//     books); in mode code+name a displayName that is not the book's name
//     for the code with INVALID_ELEMENT_VALUE_NAME. Each refusal names the
//     book's OID and version, the code and what the book expects.
//     Names are compared exactly, after XML's attribute-value normalisation
//     (a tab or line break is a space), case and ё/е included: see
//     "displayName" in the README for why.
//   - books the document names (an OID of the Минздрав НСИ arcs, see
//     IsBookOID) that the hub does not hold, or whose setting is skip, are
//     not passed: each is a Warning in the result and counted in Unchecked.
//     Other code systems (HL7 vocabularies, local ids) are not books.
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
	Books    func() *Books // the current books (Registry.Books)
	Orgs     Orgs
	Settings Settings // per-book settings (Registry.Settings); nil: DefaultSettings

	mu        sync.Mutex
	unchecked map[string]UncheckedCount
}

// UncheckedCount is how often a book was left unchecked since start.
type UncheckedCount struct {
	Documents int64 // documents that named it
	Codes     int64 // coded elements of it
}

// Unchecked returns, by the OID documents wrote, how many documents and
// codes named a book the check did not look at (not held, or skipped by its
// setting): the counter the metrics export reads. The map is a copy.
func (c *Checker) Unchecked() map[string]UncheckedCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]UncheckedCount, len(c.unchecked))
	for k, v := range c.unchecked {
		out[k] = v
	}
	return out
}

func (c *Checker) count(ws []Warning) {
	if len(ws) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unchecked == nil {
		c.unchecked = map[string]UncheckedCount{}
	}
	seen := make([]string, 0, len(ws))
	for _, w := range ws {
		n := c.unchecked[w.OID]
		if !slices.Contains(seen, w.OID) {
			n.Documents++
			seen = append(seen, w.OID)
		}
		n.Codes += int64(w.Codes)
		c.unchecked[w.OID] = n
	}
}

// Result is what level 2 says of a document it does not refuse (and, with
// a refusal, of the rest of it).
type Result struct {
	Codes    int       // coded elements checked against a book
	Warnings []Warning // books named but not checked
}

// Check runs level 2 over content (a well-formed CDA document: the door
// parses it first). A refusal is a *CheckError listing every problem in
// document order; other errors are failures of the check itself.
func (c *Checker) Check(ctx context.Context, content []byte) error {
	_, err := c.CheckWith(ctx, content, nil)
	return err
}

// CheckWith is Check with the settings of the document's kind (a kind
// bundle's books.json) on top of the checker's, returning what was not
// checked. The result is set also when err is a refusal.
func (c *Checker) CheckWith(ctx context.Context, content []byte, kind Settings) (*Result, error) {
	return c.CheckDOMWith(ctx, content, nil, kind)
}

// CheckDOMWith is CheckWith reading the document from dom, the DOM
// schematron.ParseFast made of content (see ScanDOMWith); dom nil reads
// the bytes.
func (c *Checker) CheckDOMWith(ctx context.Context, content []byte, dom *schematron.Document, kind Settings) (*Result, error) {
	settings := c.Settings
	if settings == nil {
		settings = defaultSettings
	}
	if len(kind) > 0 {
		settings = settings.Overlay(kind)
	}
	sc, err := ScanDOMWith(c.Books(), settings, content, dom)
	if err != nil {
		return nil, err
	}
	res := &Result{Codes: sc.Codes, Warnings: sc.Warnings}
	c.count(sc.Warnings)
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
			return nil, fmt.Errorf("refbook: registered organisations: %w", err)
		}
		for _, r := range sc.OrgRefs {
			if !slices.ContainsFunc(orgCandidates(r.OID), func(o string) bool { return reg[o] }) {
				problems = append(problems, Problem{Code: OrgNotFound, Path: r.Path, at: r.at,
					Message: fmt.Sprintf("organisation %s (%s) is not registered in the hub", r.OID, r.Role)})
			}
		}
		slices.SortStableFunc(problems, func(a, b Problem) int { return a.at - b.at })
	}
	if len(problems) > 0 {
		return res, &CheckError{Problems: problems}
	}
	return res, nil
}

// Problem is one failed level 2 check: the registry's code, the attribute's
// path, a message, and for a code check the book and what differs.
type Problem struct {
	Code     string `json:"code"`
	Path     string `json:"path,omitempty"`
	Message  string `json:"message"`
	OID      string `json:"oid,omitempty"`      // the book (as the document wrote its OID)
	Version  string `json:"version,omitempty"`  // the version checked against, or the one given and not held
	Value    string `json:"value,omitempty"`    // what the document carries: the code, displayName, codeSystemName or version
	CodeOf   string `json:"for_code,omitempty"` // the code whose displayName differs
	Expected string `json:"expected,omitempty"` // what the book has: the name for the code, its full name, the held versions
	at       int    // element ordinal, to merge the organisation problems in document order
}

// CheckError carries every problem found; Code is the first one's.
type CheckError struct{ Problems []Problem }

// Code is the first problem's code.
func (e *CheckError) Code() string {
	if len(e.Problems) == 0 {
		return ""
	}
	return e.Problems[0].Code
}

func (e *CheckError) Error() string {
	if len(e.Problems) == 0 {
		return "refbook: check failed"
	}
	p := e.Problems[0]
	msg := fmt.Sprintf("refbook: %s at %s: %s", p.Code, p.Path, p.Message)
	if n := len(e.Problems); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	return msg
}

// UncheckedCode is the code of a Warning: a book the document names was not checked.
const UncheckedCode = codes.DictionaryNotChecked

// Warning is a book the document names whose codes were not checked.
type Warning struct {
	Code    string `json:"code"` // DICTIONARY_NOT_CHECKED
	OID     string `json:"oid"`
	Version string `json:"version,omitempty"` // as the document gives it
	Codes   int    `json:"codes"`             // coded elements of the book in the document
	Reason  string `json:"reason"`            // "not held" or "skipped by setting"
	Message string `json:"message"`
}

const (
	reasonNotHeld = "not held"
	reasonSkipped = "skipped by setting"
)

// bookArcs are the OID arcs of the Минздрав НСИ reference books (ФНСИ):
// 1.2.643.5.1.13.13.11.* and 1.2.643.5.1.13.13.99.2.* and the old
// 1.2.643.5.1.13.2.1.1.* (ФРМО organisations are 1.2.643.5.1.13.13.12.*).
var bookArcs = []string{"1.2.643.5.1.13.13.11.", "1.2.643.5.1.13.13.99.2.", "1.2.643.5.1.13.2.1.1."}

// IsBookOID reports whether a code system is a ФНСИ reference book by its OID.
func IsBookOID(oid string) bool {
	for _, a := range bookArcs {
		if len(oid) > len(a) && oid[:len(a)] == a {
			return true
		}
	}
	return false
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
	at              int
}

// Scan is what one pass over a document found.
type Scan struct {
	Problems []Problem // code and СНИЛС problems, in document order
	OrgRefs  []OrgRef  // organisations to look up
	Codes    int       // coded elements checked against a book
	Warnings []Warning // books named and not checked, in order of first use
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
	name     []byte      // as written (prefix:local); byte scan only
	local    []byte      // local name
	pos      int         // position among the parent's children of the same name; byte scan only
	children []nameCount // child name → count so far; byte scan only
	id       int32       // the element in the DOM; DOM walk only
}

type nameCount struct {
	name []byte
	n    int
}

// pathOf builds the XPath of the innermost element, with positions:
// /ClinicalDocument/recordTarget[1]/patientRole[1]/id[2]. Built only for
// the elements that are reported.
func pathOf(stack []frame) string {
	var b strings.Builder
	for i, f := range stack {
		b.WriteByte('/')
		b.Write(f.name)
		if i > 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.pos))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// ScanDocument is ScanDocumentWith the default settings.
func ScanDocument(books *Books, content []byte) (*Scan, error) {
	return ScanDocumentWith(books, defaultSettings, content)
}

// walk is the state of one scan (ScanDocumentWith over the bytes,
// ScanDOMWith over a DOM); walks are pooled so the stack and its child
// lists are reused from document to document.
type walk struct {
	sc       *Scan
	books    *Books
	settings Settings
	stack    []frame
	depth    int
	n        int    // ordinal of the current element
	lp       []byte // scratch for the local-name chain of an id's parents
	systems  []system
	sysIndex [sysSlots]uint8 // see resolve

	// The DOM walk (tree.go); t is nil for the byte scan.
	t         *schematron.Document
	decls     []decl // the namespace declarations of the document
	dflt      bool   // a default namespace other than none is declared
	undecided bool   // the DOM walk cannot give the byte scan's result: scan the bytes
}

// system is a code system as one document writes it, resolved once per
// document (a document names a dozen or two systems in ~100 coded elements).
type system struct {
	oid      []byte
	versions []*Book // held versions, oldest first; empty: not held
	setting  Setting
}

// sysSlots is the size of a walk's index of code systems (a power of two;
// a 121 names ~25 systems).
const sysSlots = 128

var walks = sync.Pool{New: func() any { return &walk{stack: make([]frame, 0, 32)} }}

// resolve finds the held versions of a code system and its setting.
// A document's systems are found through sysIndex, an open-addressing
// table of index+1 into systems hashed on an OID's length and last bytes:
// the OIDs share long prefixes (1.2.643.5.1.13.13.11.), and a linear
// search comparing them was ~5% of level 2. The table is kept at most half
// full; a document naming more systems than that finds the rest linearly.
func (w *walk) resolve(oid []byte) *system {
	if len(w.systems) >= sysSlots/2 {
		for i := range w.systems {
			if string(w.systems[i].oid) == string(oid) {
				return &w.systems[i]
			}
		}
		return w.addSystem(oid)
	}
	h := uint(len(oid)) * 131
	for _, c := range oid[max(len(oid)-3, 0):] {
		h = h*31 + uint(c)
	}
	for ; ; h++ { // ends: the table has empty slots
		v := &w.sysIndex[h&(sysSlots-1)]
		if *v == 0 {
			sys := w.addSystem(oid)
			*v = uint8(len(w.systems))
			return sys
		}
		if string(w.systems[*v-1].oid) == string(oid) {
			return &w.systems[*v-1]
		}
	}
}

// addSystem resolves a system the document has not named before.
func (w *walk) addSystem(oid []byte) *system {
	sys := system{oid: oid, versions: w.books.Versions(string(oid))}
	if len(sys.versions) > 0 {
		sys.setting = w.settings.forBook(string(oid), sys.versions[len(sys.versions)-1])
	}
	w.systems = append(w.systems, sys)
	return &w.systems[len(w.systems)-1]
}

// newWalk takes a walk from the pool for one document.
func newWalk(books *Books, settings Settings) *walk {
	if books == nil {
		books = &Books{}
	}
	w := walks.Get().(*walk)
	w.sc, w.books, w.settings, w.depth, w.n, w.systems = &Scan{}, books, settings, 0, 0, w.systems[:0]
	clear(w.sysIndex[:])
	return w
}

// release returns w to the pool, dropping every reference into the
// document, its DOM and the books.
func (w *walk) release() {
	for i := range w.stack {
		w.stack[i].name, w.stack[i].local = nil, nil
		clear(w.stack[i].children[:cap(w.stack[i].children)])
	}
	clear(w.systems[:cap(w.systems)])
	clear(w.decls[:cap(w.decls)])
	w.sc, w.books, w.settings, w.systems, w.t, w.decls = nil, nil, nil, w.systems[:0], nil, w.decls[:0]
	w.dflt, w.undecided = false, false
	walks.Put(w)
}

// ScanDocumentWith walks content once, checking codes against books as
// settings say and СНИЛС checksums, and collecting the organisation ids to
// look up.
func ScanDocumentWith(books *Books, settings Settings, content []byte) (*Scan, error) {
	w := newWalk(books, settings)
	defer w.release()
	s := scanner{d: content}
	var t tag
	for {
		end, ok, err := s.next(&t)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if end {
			if w.depth == 0 {
				return nil, errors.New("refbook: unbalanced end element")
			}
			w.depth--
			continue
		}
		w.push(t.name, t.local)
		w.element(&t.attrs)
		if t.empty {
			w.depth--
		}
	}
	return w.finish(), nil
}

// finish writes the warnings' messages and hands over the scan.
func (w *walk) finish() *Scan {
	for i := range w.sc.Warnings {
		x := &w.sc.Warnings[i]
		version := ""
		if x.Version != "" {
			version = ", version " + x.Version
		}
		why := "the hub does not hold this book (its export can be added to HUB_NSI_DIR)"
		if x.Reason == reasonSkipped {
			why = "its setting is skip"
		}
		x.Message = fmt.Sprintf("НСИ %s%s: %d code(s) not checked: %s", x.OID, version, x.Codes, why)
	}
	return w.sc
}

// push enters an element, counting it among its parent's children of the
// same name; stack slots and their child lists are reused.
func (w *walk) push(name, local []byte) {
	w.n++
	pos := 1
	if w.depth > 0 {
		p := &w.stack[w.depth-1]
		i := slices.IndexFunc(p.children, func(c nameCount) bool { return string(c.name) == string(name) })
		if i < 0 {
			p.children = append(p.children, nameCount{name, 0})
			i = len(p.children) - 1
		}
		p.children[i].n++
		pos = p.children[i].n
	}
	if w.depth == len(w.stack) {
		w.stack = append(w.stack, frame{})
	}
	f := &w.stack[w.depth]
	f.name, f.local, f.pos, f.children = name, local, pos, f.children[:0]
	w.depth++
}

// path is the XPath of the current element (see pathOf).
func (w *walk) path() string {
	if w.t != nil {
		return w.treePath()
	}
	return pathOf(w.stack[:w.depth])
}

func (w *walk) add(p Problem, attr string) {
	p.Path = w.path() + "/@" + attr
	p.at = w.n
	w.sc.Problems = append(w.sc.Problems, p)
}

func (w *walk) unchecked(oid, version, reason string) {
	for i := range w.sc.Warnings {
		x := &w.sc.Warnings[i]
		if x.OID == oid && x.Version == version && x.Reason == reason {
			x.Codes++
			return
		}
	}
	w.sc.Warnings = append(w.sc.Warnings, Warning{Code: UncheckedCode, OID: oid, Version: version, Codes: 1, Reason: reason})
}

func (w *walk) element(a *attrs) {
	if a.null {
		return
	}
	if len(a.code) > 0 && len(a.system) > 0 {
		w.coded(a)
	}
	if string(w.stack[w.depth-1].local) != "id" {
		return
	}
	w.id(a)
}

// coded checks one element with @code and @codeSystem.
func (w *walk) coded(a *attrs) {
	sys := w.resolve(a.system)
	vs := sys.versions
	if len(vs) == 0 {
		if IsBookOID(string(a.system)) {
			w.unchecked(string(a.system), string(a.version), reasonNotHeld)
		}
		return
	}
	newest := vs[len(vs)-1]
	st := &sys.setting
	if st.Mode == ModeSkip {
		w.unchecked(string(a.system), string(a.version), reasonSkipped)
		return
	}
	w.sc.Codes++
	var b *Book
	if len(a.version) == 0 {
		b = newest
	} else {
		for _, v := range vs {
			if v.Version == string(a.version) {
				b = v
				break
			}
		}
	}
	if b == nil {
		held := make([]string, len(vs))
		for i, v := range vs {
			held[i] = v.Version
		}
		w.add(Problem{Code: codes.InvalidDictionaryVersion, OID: string(a.system), Version: string(a.version),
			Value: string(a.version), Expected: strings.Join(held, ", "),
			Message: fmt.Sprintf("НСИ %s «%s»: version %s is not held by the hub (held: %s)", a.system, newest.Name, a.version, strings.Join(held, ", "))},
			"codeSystemVersion")
	}
	nameOf := b
	if nameOf == nil {
		nameOf = newest
	}
	if a.systemName != nil && !st.acceptsSystemName(nameOf, a.systemName, w.sameName) {
		got := w.decoded(a.systemName)
		w.add(Problem{Code: codes.InvalidDictionaryOID, OID: string(a.system), Version: nameOf.Version,
			Value: string(got), Expected: nameOf.Name,
			Message: fmt.Sprintf("codeSystemName «%s» is not the name of НСИ %s, version %s: «%s»", got, a.system, nameOf.Version, nameOf.Name)},
			"codeSystemName")
	}
	if b == nil {
		return
	}
	name, ok := b.codes[string(a.code)]
	if !ok {
		w.add(Problem{Code: codes.InvalidElementValueCode, OID: string(a.system), Version: b.Version, Value: string(a.code),
			Message: fmt.Sprintf("НСИ %s «%s», version %s, has no code %q", a.system, b.Name, b.Version, a.code)},
			"code")
		return
	}
	if st.Mode == ModeCodeName && a.display != nil && name != "" && !w.sameName(a.display, name) {
		got := w.decoded(a.display)
		w.add(Problem{Code: codes.InvalidElementValueName, OID: string(a.system), Version: b.Version,
			Value: string(got), CodeOf: string(a.code), Expected: name,
			Message: fmt.Sprintf("НСИ %s «%s», version %s: code %q is «%s», the document says «%s»", a.system, b.Name, b.Version, a.code, name, got)},
			"displayName")
	}
}

// sameName is the displayName and codeSystemName comparison: exact, after
// XML's attribute-value normalisation. raw is the attribute as written:
// when its bytes are the book's and hold no reference, the values are equal
// (a book's names hold no tab or line break: ReadExport and the bundle make
// them spaces), so the common case is one comparison of bytes; otherwise
// raw is decoded first.
func sameName(raw []byte, book string) bool {
	if string(raw) == book && strings.IndexByte(book, '&') < 0 {
		return true
	}
	v, err := attrValue(raw)
	return err == nil && string(v) == book
}

// sameName compares a name attribute (displayName, codeSystemName) with a
// book's name: the byte scan's sameName, or the DOM walk's treeSameName.
func (w *walk) sameName(v []byte, book string) bool {
	if w.t != nil {
		return w.treeSameName(v, book)
	}
	return sameName(v, book)
}

// decoded is a name attribute's value for a message.
func (w *walk) decoded(v []byte) []byte {
	if w.t != nil {
		return normalised(v)
	}
	return decoded(v)
}

// decoded is a name attribute's value for a message.
func decoded(raw []byte) []byte {
	if v, err := attrValue(raw); err == nil {
		return v
	}
	return raw
}

// id checks a СНИЛС id and collects the organisation ids.
func (w *walk) id(a *attrs) {
	root := bytes.TrimSpace(a.root)
	ext := bytes.TrimSpace(a.ext)
	if string(root) == semd.SNILSRoot && len(ext) > 0 {
		if _, err := ids.ValidateSNILS(string(ext)); err != nil {
			msg := err.Error()
			var ie *ids.Error
			if errors.As(err, &ie) {
				msg = fmt.Sprintf("СНИЛС %q: %s", ie.Value, ie.Detail)
			}
			w.add(Problem{Code: codes.InvalidSNILS, Message: msg}, "extension")
		}
		return
	}
	if a.ext != nil || len(root) == 0 || w.depth < 2 {
		return
	}
	w.lp = w.lp[:0]
	for i, f := range w.stack[:w.depth-1] {
		if i > 0 {
			w.lp = append(w.lp, '/')
		}
		w.lp = append(w.lp, f.local...)
	}
	if role, ok := orgRoles[string(w.lp)]; ok {
		w.sc.OrgRefs = append(w.sc.OrgRefs, OrgRef{OID: string(root), Path: w.path() + "/@root", Role: role, at: w.n})
	}
}
