// Package cdaxsd holds the official CDA schemas of the document kinds (the
// registry's CDA.xsd of kinds 121, 58, 59 and 76, with their coreschemas,
// embedded as published) and validates documents against them: ФЛК level 0,
// run at the door after the header checks and before the schematron, whose
// rules presume a document of the schema's shape.
//
// # Two validators: pure Go for the verdict, libxml2 for the reference
//
// Each schema set is compiled twice: by libxml2 through a small cgo binding
// (the implementation xmllint runs, so the senders' own checks give the
// same verdict) and by the hub's pure-Go validator, internal/cdaxsd/xsdgo
// (Glushkov automata per content model, compiled from the same schemas; a
// set using a construct it does not implement is left to libxml2 alone,
// Schema.GoErr says which). Validate asks xsdgo first: a document it finds
// valid is valid (~150 µs of CPU per generated 121 document against
// libxml2's ~550 µs in the same run: README, "ФЛК: XSD"); a document it
// refuses, or does not read itself, goes to libxml2, which reports every
// problem as xmllint does. So a refusal is always libxml2's, and xsdgo can
// only be wrong by accepting what libxml2 refuses; TestDifferentialXmllint
// holds xsdgo's own verdicts and first error lines to xmllint's, document by
// document, beside the door's and libxml2's.
//
// Alternatives measured before: xmllint as a subprocess (same verdicts,
// ~20 ms a document: process start and schema compilation each time);
// github.com/terminalstatic/go-xsd-validate (cgo over the same libxml2, with
// process-wide state, schemas loaded from paths without confining includes,
// no column); no Go module validates the HL7 CDA schemas, and the hub's
// internal/xsdcheck covers only the SOAP contracts' subset.
//
// The binding: a schema set is compiled once (xmlSchemaParse) and shared
// read-only by every goroutine; each Validate has a validation context of
// its own (xmlSchemaNewValidCtxt costs under 1 µs, so no pool), and no
// parse loads a DTD, substitutes entities or touches the network. A valid document
// streams through the validator without a tree (xmlSchemaValidateStream,
// ~30% cheaper); a refused one is parsed into a tree (xmlCtxtReadMemory
// with XML_PARSE_NONET) and validated again,
// so its errors carry xmllint's line numbers. Errors come through
// libxml2's structured error callbacks: line (as xmllint gives it), column
// (of the element's start tag, found from the byte offset the parser
// records on each element), element, path, what the schema expected, and
// libxml2's message. libxml2 never reads a file or the network while
// validating: its external entity loader is replaced by one that refuses
// everything except the files of the schema set being compiled.
//
// Loading from an fs.FS: the set's files are copied to a private temporary
// directory for xmlSchemaParse (which resolves xs:include and xs:import
// relative to the file) and removed once it is compiled; a schemaLocation
// that leaves the set (an absolute path, "..", a URL) fails to load.
//
// A message may quote a value of the document (libxml2 says "'2024-13-01' is
// not a valid value of the atomic type 'ts'"). It goes back in the refusal to
// the sender who wrote it; the hub never logs refusal texts.
package cdaxsd

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/emdhub/hub/internal/cdaxsd/xsdgo"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
)

// fast turns the streaming first pass on (benchmarks compare both ways).
var fast = true

// Bundled are the official schemas, one directory per kind: xsd/<kind>/CDA.xsd
// with what it includes.
//
//go:embed xsd
var Bundled embed.FS

// Entry is the file of a kind's directory that the set starts from.
const Entry = "CDA.xsd"

// MaxProblems bounds the problems one refusal lists (Error.Total counts all).
const MaxProblems = 100

// Problem is one place where a document breaks its schema.
type Problem struct {
	Code     string   `json:"code"`               // XSD_INVALID
	Line     int      `json:"line"`               // as xmllint reports it: where the element's start tag ends
	Column   int      `json:"column,omitempty"`   // of the start tag's '<' on that line, in characters; 0 when unknown
	Element  string   `json:"element,omitempty"`  // the element as written (prefix:name)
	Path     string   `json:"path,omitempty"`     // /ClinicalDocument/…/name[2]
	Expected []string `json:"expected,omitempty"` // elements the schema expected there, when it says
	Message  string   `json:"message"`            // libxml2's message (may quote the sender's value)
}

// Error is a document the schema refuses: every problem, in document order
// as libxml2 found them. It is never logged with its problems (their
// messages may quote document values); Refusal turns it into the door's
// answer.
type Error struct {
	Kind     string // the kind whose schema refused, "" for an explicit schema
	Problems []Problem
	Total    int // problems found; > len(Problems) when capped at MaxProblems
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return "cdaxsd: the document is not valid against its schema"
	}
	p := e.Problems[0]
	return fmt.Sprintf("cdaxsd: %d schema errors, first at line %d (%s)", e.Total, p.Line, p.Element)
}

// Refusal is the door's answer: 422 XSD_INVALID with every problem in the
// details, the first one in the message.
func (e *Error) Refusal() *codes.Error {
	of := "its schema"
	if e.Kind != "" {
		of = "the official XSD of kind " + e.Kind
	}
	places := "places"
	if e.Total == 1 {
		places = "place"
	}
	r := codes.New(http.StatusUnprocessableEntity, codes.XSDInvalid, "the document fails %s at %d %s", of, e.Total, places)
	if len(e.Problems) > 0 {
		p := e.Problems[0]
		r.Message += fmt.Sprintf("; first: line %d, column %d, %s: %s", p.Line, p.Column, p.Element, p.Message)
	}
	r.Details = e.Problems
	return r
}

// Schema is a compiled schema set, safe for concurrent use.
type Schema struct {
	Kind string // set by LoadDir and Load; Compile leaves it empty
	s    *schema
	// g is the same set compiled by the pure-Go validator (xsdgo), nil when
	// it uses a construct xsdgo refuses (GoErr says which).
	g     *xsdgo.Schema
	GoErr error
}

// useGo lets the pure-Go validator give the verdict on valid documents
// (tests and benchmarks switch it off to measure libxml2 alone).
var useGo = true

// Compile compiles the schema set whose entry file is entry (e.g. "CDA.xsd"),
// resolving its includes and imports inside fsys only: by libxml2, and by
// the pure-Go validator when it supports every construct of the set.
func Compile(fsys fs.FS, entry string) (*Schema, error) {
	s, err := compile(fsys, entry)
	if err != nil {
		return nil, fmt.Errorf("cdaxsd: compile %s: %w", entry, err)
	}
	out := &Schema{s: s}
	out.g, out.GoErr = xsdgo.Compile(fsys, entry)
	return out, nil
}

// Validate checks doc against the schema: nil when valid, an *Error when the
// schema refuses it (or libxml2 cannot parse it), another error when the
// validator itself failed.
//
// The pure-Go validator (xsdgo, ~10× cheaper) gives the verdict when it
// finds the document valid; a document it refuses, or cannot read itself,
// goes to libxml2, which reports every problem as xmllint does (so a refusal
// is exactly libxml2's, and xsdgo being wrong about an invalid document costs
// time, never a wrong answer). TestDifferentialXmllint holds xsdgo's own
// verdicts to xmllint's document by document.
func (s *Schema) Validate(doc []byte) error {
	if s.g != nil && useGo && s.g.Validate(doc) == nil {
		return nil
	}
	err := s.s.validate(doc)
	var e *Error
	if errors.As(err, &e) {
		e.Kind = s.Kind
	}
	return err
}

// ValidateTree is Validate for a document the door has already parsed: d
// is schematron.ParseFast of doc (nil when the door parsed it otherwise).
// The pure-Go validator walks the tree instead of reading the bytes again
// (xsdgo.ValidateTree, about half of its time saved); a document it does
// not accept there — any refusal, anything it is not sure of — goes to
// Validate(doc), so the verdict, and a refusal's lines and columns, are
// Validate's.
func (s *Schema) ValidateTree(doc []byte, d *schematron.Document) error {
	if d != nil && s.g != nil && useGo && s.g.ValidateTree(doc, d) == nil {
		return nil
	}
	return s.Validate(doc)
}

// ValidateGo checks doc with the pure-Go validator alone: nil when valid,
// an *Error with its first problem when refused, xsdgo.ErrUnsupported for a
// document it does not read itself, and an error naming the construct when
// the set did not compile for it.
func (s *Schema) ValidateGo(doc []byte) error {
	if s.g == nil {
		return fmt.Errorf("cdaxsd: no Go validator for this schema: %w", s.GoErr)
	}
	err := s.g.Validate(doc)
	var inv *xsdgo.Invalid
	if !errors.As(err, &inv) {
		return err
	}
	return &Error{Kind: s.Kind, Total: 1, Problems: []Problem{{Code: codes.XSDInvalid, Line: inv.Line, Column: inv.Column,
		Element: inv.Element, Path: inv.Path, Expected: inv.Expected, Message: inv.Message}}}
}

// Set is the compiled schemas by kind code.
type Set map[string]*Schema

// Kinds lists the kinds, sorted.
func (s Set) Kinds() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Load compiles every kind of fsys: each directory <kind>/ with a CDA.xsd.
func Load(fsys fs.FS) (Set, error) {
	dirs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("cdaxsd: %w", err)
	}
	set := Set{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		sub, err := fs.Sub(fsys, d.Name())
		if err != nil {
			return nil, fmt.Errorf("cdaxsd: %w", err)
		}
		if _, err := fs.Stat(sub, Entry); err != nil {
			continue
		}
		s, err := Compile(sub, Entry)
		if err != nil {
			return nil, fmt.Errorf("cdaxsd: kind %s: %w", d.Name(), err)
		}
		s.Kind = d.Name()
		set[d.Name()] = s
	}
	return set, nil
}

// LoadDir compiles the schemas of dir (HUB_XSD_DIR: a directory of
// <kind>/CDA.xsd), or the bundled ones when dir is empty.
func LoadDir(dir string) (Set, error) {
	if err := Available(); err != nil {
		return nil, fmt.Errorf("cdaxsd: %w", err)
	}
	if dir == "" {
		sub, _ := fs.Sub(Bundled, "xsd")
		return Load(sub)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cdaxsd: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("cdaxsd: %s is not a directory", dir)
	}
	return Load(os.DirFS(dir))
}

// CompileFile compiles one schema file of the local file system with what
// it includes from its directory (`hub validate -xsd FILE.xsd`).
func CompileFile(file string) (*Schema, error) {
	dir, base := path.Split(strings.ReplaceAll(file, `\`, "/"))
	if dir == "" {
		dir = "."
	}
	return Compile(os.DirFS(dir), base)
}

// expected reads libxml2's "Expected is one of ( a, b )." / "Expected is ( a )."
// into element names; names of the HL7 v3 namespace lose it.
func expected(msg string) []string {
	i := strings.Index(msg, "Expected is ")
	if i < 0 {
		return nil
	}
	rest := msg[i+len("Expected is "):]
	rest = strings.TrimPrefix(rest, "one of ")
	open, end := strings.Index(rest, "("), strings.LastIndex(rest, ")")
	if open < 0 || end < open {
		return nil
	}
	var out []string
	for _, n := range strings.Split(rest[open+1:end], ",") {
		n = strings.TrimSpace(n)
		n = strings.TrimPrefix(n, "{urn:hl7-org:v3}")
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// column is the 1-based column, in characters, of the '<' that opens the
// start tag ending just before byte offset end, when that '<' is on line
// (1-based); 0 otherwise.
func column(doc []byte, end int, line int) int {
	if end <= 0 || end > len(doc) {
		return 0
	}
	lt := -1
	for i := end - 1; i >= 0; i-- {
		if doc[i] == '<' { // never inside an attribute value
			lt = i
			break
		}
	}
	if lt < 0 {
		return 0
	}
	n := 1
	for _, c := range doc[:lt] {
		if c == '\n' {
			n++
		}
	}
	if n != line {
		return 0
	}
	start := strings.LastIndexByte(string(doc[:lt]), '\n') + 1
	return len([]rune(string(doc[start:lt]))) + 1
}
