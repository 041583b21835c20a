package kinds

import (
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/emdhub/hub/internal/cdaxsd"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
)

// Validator checks a document against a compiled XSD; nil error means valid.
type Validator interface {
	Validate(doc []byte) error
}

// TreeValidator is a Validator that also checks a document the door has
// already parsed (cdaxsd.Schema): ValidateTree(doc, d), with d
// schematron.ParseFast of doc or nil, gives Validate(doc)'s verdict without
// reading the bytes again when it can.
type TreeValidator interface {
	Validator
	ValidateTree(doc []byte, d *schematron.Document) error
}

// CompileXSD compiles the XSD of a bundle: fsys is the bundle's xsd/
// subtree, entry the schema to start from (XSDEntry). It is the hub's own
// validator (internal/cdaxsd, libxml2), so a bundle's schema is checked
// exactly as the bundled ones; a build that sets it to nil refuses bundles
// with xsd/ (KIND_XSD_UNAVAILABLE) rather than storing a schema nobody checks.
var CompileXSD = func(fsys fs.FS, entry string) (Validator, error) {
	x, err := cdaxsd.Compile(fsys, entry)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Set is what the door enforces for one kind.
type Set struct {
	Kind string
	// Version is the bundle version in force; 0 for the schematron the hub
	// started with (bundled, or HUB_SCHEMATRON_DIR).
	Version    int
	Schematron *schematron.Schema
	XSD        Validator        // nil: no XSD in the bundle
	Books      refbook.Settings // nil: the hub's default book settings
}

// maxSampleProblems caps the details of a KIND_SAMPLE_FAILED refusal: a
// sample of another kind can fail hundreds of rules, and the first ones say
// what is wrong.
const maxSampleProblems = 200

// Compile compiles a read bundle: the schematron (a construct the engine
// cannot compile is refused with the file and, where it can be found, the
// line) and the XSD through CompileXSD. Refusals are *codes.Error.
func Compile(b *Bundle) (*Set, error) {
	file := b.Kind + ".sch"
	sch, err := schematron.Compile(b.Schematron)
	if err != nil {
		return nil, invalid(file, locate(b.Schematron, err), "the schematron does not compile: %v", err)
	}
	set := &Set{Kind: b.Kind, Schematron: sch, Books: b.Books}
	if b.XSD != nil {
		if CompileXSD == nil {
			e := codes.Unprocessable(codes.KindXSDUnavailable,
				"kind bundle refused: XSD validation not available in this hub, so the bundle's xsd/ could not be compiled or enforced; upload the bundle without xsd/, or after the XSD validator is enabled")
			e.Details = []Problem{{Code: codes.KindXSDUnavailable, File: "xsd/" + XSDEntry, Message: "XSD validation not available"}}
			return nil, e
		}
		v, err := CompileXSD(b.XSD, XSDEntry)
		if err != nil {
			return nil, invalid("xsd/"+XSDEntry, locate(nil, err), "the XSD does not compile: %v", err)
		}
		set.XSD = v
	}
	return set, nil
}

// Try runs every sample of the bundle through the compiled set (XSD first,
// then the schematron, as the door does) and refuses with 422
// KIND_SAMPLE_FAILED listing the failures per sample when any fails.
func (s *Set) Try(b *Bundle) error {
	var probs []Problem
	failed := 0
	for _, name := range b.SampleNames() {
		file := "samples/" + name
		n := len(probs)
		probs = append(probs, s.trySample(file, b.Samples[name])...)
		if len(probs) > n {
			failed++
		}
	}
	if len(probs) == 0 {
		return nil
	}
	total := len(probs)
	if total > maxSampleProblems {
		probs = probs[:maxSampleProblems]
	}
	e := codes.Unprocessable(codes.KindSampleFailed, "kind bundle refused: %d of %d sample documents fail the bundle's own checks (%d failures); first: %s: %s",
		failed, len(b.Samples), total, probs[0].File, probs[0].Message)
	e.Details = probs
	return e
}

func (s *Set) trySample(file string, doc []byte) []Problem {
	if s.XSD != nil {
		if err := s.XSD.Validate(doc); err != nil {
			return []Problem{{Code: codes.KindSampleFailed, File: file, Line: locate(nil, err), Message: "XSD: " + err.Error()}}
		}
	}
	d, err := schematron.Parse(doc)
	if err != nil {
		return []Problem{{Code: codes.KindSampleFailed, File: file, Line: locate(nil, err), Message: "not a readable XML document: " + err.Error()}}
	}
	fs, err := s.Schematron.ValidateErr(d)
	if err != nil {
		return []Problem{{Code: codes.KindSampleFailed, File: file, Message: "the schematron cannot evaluate it: " + err.Error()}}
	}
	out := make([]Problem, 0, len(fs))
	for _, f := range fs {
		out = append(out, Problem{Code: codes.KindSampleFailed, File: file, Rule: f.Number(), Path: f.Location, Message: f.Text})
	}
	return out
}

var (
	lineInError   = regexp.MustCompile(`\bline (\d+)`)
	quotedInError = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	unsupportedEl = regexp.MustCompile(`unsupported sch:(\w+)`)
	unsupportedAt = regexp.MustCompile(`unsupported attribute (\w+)`)
)

// locate finds the line an error is about: the line an XML syntax error
// (or any error saying "line N") names, else the first line of src that
// holds what the error quotes — the rule context or XPath the schematron
// compiler names, or the unsupported element or attribute. 0 when unknown.
func locate(src []byte, err error) int {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Line
	}
	var ce *schematron.CompileError // the engine's own location of what it cannot compile
	if errors.As(err, &ce) && ce.Line > 0 {
		return ce.Line
	}
	msg := err.Error()
	if m := lineInError.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if src == nil {
		return 0
	}
	var needles []string
	q := quotedInError.FindAllString(msg, -1)
	for i := len(q) - 1; i >= 0; i-- { // the innermost (most precise) quote comes last
		if s, err := strconv.Unquote(q[i]); err == nil && s != "" {
			needles = append(needles, s, xmlEscape(s))
		}
	}
	if m := unsupportedEl.FindStringSubmatch(msg); m != nil {
		needles = append(needles, "<sch:"+m[1], "<"+m[1]+" ", "<"+m[1]+">")
	}
	if m := unsupportedAt.FindStringSubmatch(msg); m != nil {
		needles = append(needles, " "+m[1]+"=")
	}
	text := string(src)
	for _, n := range needles {
		if i := strings.Index(text, n); i >= 0 {
			return strings.Count(text[:i], "\n") + 1
		}
	}
	return 0
}

func xmlEscape(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return s
	}
	// EscapeText writes quotes as &#34; and &#39;; the files use &quot; and &apos;.
	return strings.NewReplacer("&#34;", "&quot;", "&#39;", "&apos;").Replace(b.String())
}

// describe is a set's one-line description for logs.
func (s *Set) describe() string {
	src := "built in"
	if s.Version > 0 {
		src = fmt.Sprintf("bundle version %d", s.Version)
	}
	return fmt.Sprintf("kind %s (%s): %d rules, %d asserts, xsd %t", s.Kind, src, s.Schematron.Rules, s.Schematron.Asserts, s.XSD != nil)
}
