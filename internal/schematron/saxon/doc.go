// Package saxon is the test oracle for the hub's schematron engine: it turns
// an ISO Schematron file into an XSLT stylesheet of its own (no third-party
// skeleton) and runs it with Saxon-HE (Debian libsaxonhe-java, a JVM) over
// many documents at once, returning for each document the failed asserts and
// successful reports as Failure records, the same shape the engine produces,
// so that the differential test compares them with ==.
//
// It is used only by tests, benchmarks and scripts (scripts/saxon-validate,
// scripts/bench-schematron), never by the hub at run time.
//
// # Semantics (what the engine must match)
//
//   - Patterns are independent. Within a pattern, every node of the document
//     (the document node, elements, attributes, text, comments, processing
//     instructions) is offered to the pattern's rules, and only the FIRST rule
//     in document order whose context matches fires for it: each pattern is an
//     XSLT mode whose templates have priorities decreasing with rule order,
//     plus default templates that recurse into attributes and children.
//     Contexts are XSLT match patterns.
//   - Unprefixed element names in contexts, tests and value-of selects are in
//     the CDA namespace urn:hl7-org:v3 (xpath-default-namespace), not in no
//     namespace as a strict reading of ISO Schematron would have it. The
//     registry's files declare only the Russian extension prefixes (identity,
//     address, fias, …) and name the CDA elements unprefixed, while СЭМД are in
//     urn:hl7-org:v3: under the strict reading not one rule would ever fire.
//     Attribute names stay namespace-less, as in XPath. CompileWith can set
//     another default (or none) for hand-written schemas.
//   - Whitespace-only text nodes of the document are kept (no strip-space):
//     they count in text()[n] positions of locations and in tests.
//   - An assert fails when the effective boolean value of its test is false; a
//     report fires when it is true. A dynamic error (e.g. the effective boolean
//     value of two strings) makes Saxon fail the document, and Run fails.
//   - Failure.Location is Saxon's fn:path() of the rule's context node;
//     Failure.Text is the assert's content with sch:value-of (joined with single
//     spaces, as xsl:value-of does) and sch:name (name() of the context, or of
//     its path) evaluated, sch:emph/dir/span and foreign elements contributing
//     their text, then normalize-space()d. Diagnostics are not part of Text.
//   - sch:let: at schema or phase level a global variable (context: the
//     document node); at pattern level a global variable too (as the ISO
//     skeleton does, so names must be unique across the schema); at rule level
//     a local variable evaluated before the asserts, in document order with
//     them. sch:ns: namespace declarations. Abstract rules are inlined where a
//     rule names them in sch:extends/@rule (recursively). The phase is
//     schema/@defaultPhase (all patterns when absent or #ALL).
//   - Refused with an error at Compile: sch:include, abstract patterns and
//     is-a, sch:param, sch:extends/@href, a queryBinding other than xslt,
//     xslt2 or xslt3, an unknown element in the Schematron namespace, a rule
//     without context, an undefined abstract rule, an undefined phase.
//
// The stylesheet is XSLT 3.0: the official files compare against XPath 3.1
// array constructors (@value=['true','false'], atomised into a sequence) and
// locations need fn:path(), both of which Saxon-HE 9.9 provides.
//
// The four official files use only schema, ns, pattern, rule/@context and
// assert/report/@test with plain text, no ids: Pattern and ID are "" there,
// and the rule number ("У1-20.") is the start of Text.
package saxon
