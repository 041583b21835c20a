package schematron

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// function is one supported XPath function. The official files call count,
// not, matches and normalize-space; a few neighbours are here because they are
// one line each and common in other published schematrons.
type function struct {
	min, max   int
	numeric    bool // returns a number (a predicate using it is positional)
	positional bool // reads the context position or size
	call       func(e *ev, c *callExpr, ctx int32) value
}

var functions map[string]*function

func init() {
	functions = map[string]*function{
		"count": {min: 1, max: 1, numeric: true, call: func(e *ev, c *callExpr, ctx int32) value {
			v := e.eval(c.args[0], ctx)
			return numV(float64(e.count(&v)))
		}},
		"not": {min: 1, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			return boolV(!e.ebv(e.eval(c.args[0], ctx)))
		}},
		"boolean": {min: 1, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			return boolV(e.ebv(e.eval(c.args[0], ctx)))
		}},
		"exists": {min: 1, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			v := e.eval(c.args[0], ctx)
			return boolV(e.count(&v) > 0)
		}},
		"empty": {min: 1, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			v := e.eval(c.args[0], ctx)
			return boolV(e.count(&v) == 0)
		}},
		"true":  {call: func(*ev, *callExpr, int32) value { return boolV(true) }},
		"false": {call: func(*ev, *callExpr, int32) value { return boolV(false) }},
		"position": {numeric: true, positional: true, call: func(e *ev, _ *callExpr, _ int32) value {
			return numV(float64(e.pos))
		}},
		"last": {numeric: true, positional: true, call: func(e *ev, _ *callExpr, _ int32) value {
			return numV(float64(e.size))
		}},
		"string": {min: 0, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			return strV(e.argStr(c, 0, ctx))
		}},
		"normalize-space": {min: 0, max: 1, call: func(e *ev, c *callExpr, ctx int32) value {
			return strV(normalizeSpace(e.argStr(c, 0, ctx)))
		}},
		"string-length": {min: 0, max: 1, numeric: true, call: func(e *ev, c *callExpr, ctx int32) value {
			return numV(float64(len([]rune(e.argStr(c, 0, ctx)))))
		}},
		"substring": {min: 2, max: 3, call: func(e *ev, c *callExpr, ctx int32) value {
			src := []rune(e.argStr(c, 0, ctx))
			start := xpathRound(e.argNum(c, 1, ctx))
			end := math.Inf(1)
			if len(c.args) == 3 {
				end = start + xpathRound(e.argNum(c, 2, ctx))
			}
			// XPath: the characters at positions p with start <= p < end
			// (1-based; NaN compares false, so takes nothing).
			var out []rune
			for i, r := range src {
				if p := float64(i + 1); p >= start && p < end {
					out = append(out, r)
				}
			}
			return strV(string(out))
		}},
		"current": {call: func(e *ev, _ *callExpr, _ int32) value {
			return nodesV(e.one(e.cur))
		}},
		"contains": {min: 2, max: 2, call: func(e *ev, c *callExpr, ctx int32) value {
			return boolV(strings.Contains(e.argStr(c, 0, ctx), e.argStr(c, 1, ctx)))
		}},
		"starts-with": {min: 2, max: 2, call: func(e *ev, c *callExpr, ctx int32) value {
			return boolV(strings.HasPrefix(e.argStr(c, 0, ctx), e.argStr(c, 1, ctx)))
		}},
		"matches": {min: 2, max: 2, call: func(e *ev, c *callExpr, ctx int32) value {
			s := e.argStr(c, 0, ctx)
			var re *xre
			if lit, ok := c.args[1].(*strLit); ok {
				re = e.s.regexps[lit.s]
			} else {
				mark := len(e.arena)
				v := e.eval(c.args[1], ctx)
				if e.count(&v) == 0 { // the pattern is xs:string, not xs:string?
					e.fail("XPTY0004: an empty sequence as the pattern of matches()")
				}
				re = e.dynamicRegexp(e.str(v))
				e.release(mark)
			}
			return boolV(re != nil && e.match(re, s))
		}},
	}
}

// argStr is argument i as a string; with no argument, the context node's.
func (e *ev) argStr(c *callExpr, i int, ctx int32) string {
	if i >= len(c.args) {
		return e.d.stringValue(ctx)
	}
	mark := len(e.arena)
	s := e.str(e.eval(c.args[i], ctx))
	e.release(mark)
	return s
}

// argNum is argument i as xs:double (XPath 2 function conversion: a node's
// value is cast, a cast that fails is a dynamic error; the empty sequence
// is NaN here, where Saxon raises XPTY0004 for substring's numeric arguments).
func (e *ev) argNum(c *callExpr, i int, ctx int32) float64 {
	mark := len(e.arena)
	defer e.release(mark)
	v := e.eval(c.args[i], ctx)
	switch n := e.count(&v); {
	case n == 0:
		e.fail("XPTY0004: an empty sequence where a number is expected")
		return math.NaN()
	case n > 1:
		e.fail("XPTY0004: a sequence of %d items where one number is expected", n)
	}
	a := e.atomAt(&v, 0)
	if a.k == aStr {
		e.fail("XPTY0004: a string where a number is expected")
	}
	f := atomNum(a)
	if a.k == aUntyped && math.IsNaN(f) && strings.TrimSpace(a.s) != "NaN" {
		e.fail("FORG0001: %q is not a number", a.s)
	}
	return f
}

// xpathRound is fn:round: the nearest integer, halves towards +∞.
func xpathRound(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	return math.Floor(f + 0.5)
}

// dynamicRegexp compiles a pattern taken from the document (121.sch matches an
// id against the setId, for instance), cached for the validation. A pattern
// that is no valid XPath regular expression matches nothing (Saxon would stop
// with a dynamic error).
func (e *ev) dynamicRegexp(p string) *xre {
	if re, ok := e.dynRe[p]; ok {
		return re
	}
	var re *xre
	if isDots(p) {
		re = &xre{dots: p}
	} else {
		re, _ = compileXPathRegexp(p, false) // once per document: no fast-path analysis
	}
	if e.dynRe == nil {
		e.dynRe = map[string]*xre{}
	}
	e.dynRe[p] = re
	return re
}

// compileXPathRegexp compiles an XPath (XSD) regular expression with Go's RE2.
// The two agree on what the official files use (classes, ranges, quantifiers,
// anchors, groups, alternation, \s \d \. escapes — \s and \d differ only for
// characters XML forbids or non-ASCII digits); the XSD-only constructs are
// refused rather than misread.
func compileXPathRegexp(p string, fast bool) (*xre, error) {
	for _, bad := range []string{`\i`, `\I`, `\c`, `\C`, `\p{Is`, `\P{Is`, `-[`} {
		if strings.Contains(p, bad) {
			return nil, fmt.Errorf("unsupported regular expression construct %s in %q", bad, p)
		}
	}
	if strings.HasPrefix(p, "(?") {
		return nil, fmt.Errorf("unsupported regular expression %q", p)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	x := &xre{re: re}
	if fast {
		if x.fixed = compileFixed(p); x.fixed == nil {
			x.dfa = compileDFA(p)
		}
	}
	return x, nil
}
