// Package schematron is the hub's own engine for the registry's official
// schematrons (ФЛК level 1): it compiles an ISO Schematron file
// (queryBinding xslt2) once and validates parsed documents with it, in Go,
// with no Java or other runtime. Saxon-HE (package saxon) is only its test
// oracle.
//
//	s, err := schematron.Compile(sch)          // or Official("121"), Load(dir)
//	d, err := schematron.ParseLimited(xml, lim) // the door's XML limits
//	fs, err := s.ValidateErr(d)                 // sorted []Failure; err: XPath dynamic error
//
// # What the official files use (inventory, comments excluded)
//
// Schematron: only schema, ns, pattern, rule/@context, assert/@test and
// report/@test with plain-text messages — no let, value-of, name, abstract
// rules, extends, phases, includes or ids (the rule number is the head of the
// message, see Failure.Number).
//
//	        rules  asserts  reports  patterns
//	121.sch   586    1,482       27       170
//	 58.sch   401      712      113        69
//	 59.sch   413      876       92        71
//	 76.sch   204      385       60        92
//
// XPath, over the 2,061+ context and test expressions of the four files:
// functions count() 1,421, not() 214, matches() 165 (30 distinct literal
// patterns, 5 calls whose pattern is a path into the document),
// normalize-space() 2 (once as a path step: title/normalize-space(text())),
// kind test text() 2; operators != 836, = with the XPath 3.1 array form
// =['a','b'] 345 (no parenthesised =('a','b') in these files, supported
// anyway), <= / < 120, >= / > 18, or 84, and 7, union | 16; location paths
// with child and attribute steps, // 111 times, predicates (boolean and
// positional id[1]), * 5 (//*[…]), ancestor:: 2. No variables, arithmetic,
// if/for/some, or other axes.
//
// Unprefixed element names are in urn:hl7-org:v3 (XSLT's
// xpath-default-namespace; the files declare no prefix for CDA and a strict
// reading would match nothing — the oracle does the same, see
// DefaultElementNamespace).
//
// # Decision: an evaluator of our own, by measurement
//
// The candidate library, github.com/antchfx/xpath (v1.3.9) with xmlquery
// (v1.5.2), MIT, maintained, was tried on 121.sch against the same generated
// 121 document (a throwaway prototype, not kept):
//   - it refuses 128 of the file's 2,061 expressions ("expression must evaluate
//     to a node-set": the =['a','b'] array form and the function-as-step);
//   - it panics on matches() whose pattern is a path (121.sch has such);
//   - on what it does run it reports 61 failures where Saxon reports 41
//     (XPath 1 comparison semantics, no untypedAtomic rules);
//   - parse and validate took 4.7–6.6 ms per document on the shared machine,
//     against 1.4 ms for this engine in the same minutes (wall time, load ≈ 9
//     on 2 cores).
//
// So the expressions are compiled here, in two passes: a small expression
// tree (xpath.go), then Go closures specialised for the shapes the rules are
// made of (compile.go). What makes it fast:
//   - asserts, reports and non-positional predicates are closures: @code='X',
//     @x!="", count(child)=N, matches(@v,'^…$'), not/and/or and relative
//     paths of child and attribute steps run without value structs, sorting
//     or the interpreter; anything else falls back to eval, so semantics stay
//     one;
//   - each rule's context is turned into the path selecting what it matches
//     (pattern a/b ≡ //a/b), and every prefix of those paths is selected once
//     per document (121.sch: 586 rules, 576 distinct prefixes); ISO's "first
//     rule of a pattern wins" is a per-node stamp;
//   - context steps testing one path against a literal —
//     section[code/@code='X'], observation[code[@code='4102']],
//     entry[observation/code[@code='4055']] — share, when ≥ 3 prefixes use the
//     same candidates and path, one index from value to nodes per document
//     (sorted arrays reused across documents, no map per document);
//   - descendant::x is a binary search into a per-document index of elements
//     by name, not a walk; a name test is one load (per-node schema name ids);
//   - matches() with a literal pattern: fixed-width patterns (the date
//     pattern) are a per-character class check, others a byte DFA built at
//     compile time (the OID patterns), the regexp only for non-ASCII
//     subjects; a pattern taken from the document (setId/@root) made of
//     plain characters and "." is a substring search, not a regexp compiled
//     per document;
//   - node sets live in one bump arena released after each test: validating
//     the 121 document allocates 352 B in 3 allocations.
//
// Parsing (dom.go, fastparse.go): a tokenizer of our own over one string copy
// of the input, whose values are substrings of it, takes the documents the
// door sees; whatever it is not sure encoding/xml accepts identically (a
// DOCTYPE, CDATA, character references, PIs, non-ASCII names, any error or
// limit) goes to the encoding/xml parser, the reference: the fast path can
// never accept what the reference refuses, and FuzzParseFastAgreesWithStd
// holds it to the same DOM whenever it accepts.
//
// Figures (BenchmarkValidate121, BenchmarkParse121, BenchmarkParseValidate121,
// -cpu 1, CPU time per document; `scripts/bench-schematron 121`; Go 1.26; a
// generated 121 document of 35 KB, 1,219 nodes, against 121.sch):
//
//	                        this engine                 before (same minutes)
//	validate 121            183–207 µs (4,800–5,450/s)   663–744 µs
//	parse 121               274 µs (~3,650/s)            ~2 ms
//	parse + validate 121    638 µs (~1,570/s)            2.6 ms
//	validate 58 / 59 / 76   130 / 169 / 50 µs
//
// measured on the shared 2-core machine under a load of 9–13 (seven other
// agents), the minimum of five runs; run alternately with it, the engine as
// it was before these changes (455 µs for validate on a quiet machine) took
// 663–744 µs: 2.7–3.2× faster, so on a quiet machine validate is ~140–170 µs
// (~5,900–7,000 documents/s). Saxon-HE
// 9.9's warm rate in the same run of scripts/bench-schematron: 14.9
// documents/s (42 on a quiet machine), hub ÷ Saxon = 119 (wall time on both
// sides). Each step's gain is in its commit message.
//
// Memory: validation allocates 352 B in 3 allocations against ~124 KB to
// parse the document (TestValidateAllocatesLessThanTwiceTheDocument holds it
// under 2×); the four compiled official schematrons take 9.7 MB of heap
// (TestCompiledSchematronsMemory, budget 24 MB):
//
//	go test ./internal/schematron -run 'Allocates|CompiledSchematronsMemory' -v
//
// # Semantics (matched to the oracle by TestDifferentialAgainstSaxon)
//
// XPath 2 general comparisons: untypedAtomic (attribute and element values)
// compares as a string with strings and untyped values, as a double with
// numbers; a value that is no number, a string compared with a number, more
// than one item where one string is expected (matches, normalize-space…), an
// empty pattern for matches(), the effective boolean value of several atomic
// values — Saxon stops on the document with a dynamic error, and ValidateErr
// returns one (Validate drops it). Regular expressions are Go's RE2, which
// agrees with XPath's on every pattern the files contain; XSD-only constructs
// (\i, \c, \p{Is…}, class subtraction) are refused. Rule contexts must be
// element patterns (the files have no others); comments and processing
// instructions are not part of the DOM.
//
// Beyond the four files (issue 12: other published schematrons), also
// compiled and checked against Saxon on synthetic files (testdata/xpath2.sch,
// testdata/abstract.sch, testdata/let.sch): abstract rules with sch:extends
// (nested, shared across patterns), phases (the defaultPhase's active
// patterns run), sch:let at the schema and pattern level (globals at the
// document node; each may use those before it) and in rules (at the context
// node, visible to what follows), evaluated on first use as Saxon does,
// if … then … else, substring(), string-length(), last(), empty(), exists(),
// current(), arithmetic + - div mod (on xs:double).
//
// Unsupported, refused at Compile with a *CompileError naming the construct,
// the file's line and the rule's number (Load then records the kind as
// unconfigured, and the door refuses its documents with KIND_UNCONFIGURED
// rather than check them with part of the rules): sch:let in phases, in
// abstract rules or with element content, value-of and name in messages,
// diagnostics, properties,
// abstract patterns, include; XPath "*" multiplication, idiv, for/some/every,
// value comparisons (eq…), axes other than child, attribute, self, parent,
// descendant(-or-self), ancestor(-or-self); current() in a rule context;
// functions other than count, not, boolean, exists, empty, true, false,
// position, last, string, normalize-space, string-length, substring,
// contains, starts-with, matches, current.
package schematron
