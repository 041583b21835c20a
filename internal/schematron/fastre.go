package schematron

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// fixedRE matches the official files' commonest patterns without the regexp
// machine: anchored (^…$) sequences of character classes and literals with
// fixed counts, such as the date pattern ^[1-2]{1}[0-9]{3}[0-1]{1}[0-9]{1}…$
// (92 of the 165 matches() calls). A string matches when it has exactly one
// rune per class, each in its class.
type fixedRE [][]rune // per position, the class as rune range pairs

func compileFixed(p string) fixedRE {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil
	}
	var f fixedRE
	var add func(s *syntax.Regexp) bool
	add = func(s *syntax.Regexp) bool {
		if s.Flags&syntax.FoldCase != 0 {
			return false
		}
		switch s.Op {
		case syntax.OpCharClass:
			f = append(f, s.Rune)
		case syntax.OpLiteral:
			for _, r := range s.Rune {
				f = append(f, []rune{r, r})
			}
		case syntax.OpConcat:
			for _, c := range s.Sub {
				if !add(c) {
					return false
				}
			}
		case syntax.OpRepeat:
			if s.Min != s.Max || s.Min < 0 {
				return false
			}
			for range s.Min {
				if !add(s.Sub[0]) {
					return false
				}
			}
		default:
			return false
		}
		return true
	}
	for _, s := range re.Sub[1 : len(re.Sub)-1] {
		if !add(s) {
			return nil
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

func (f fixedRE) match(s string) bool {
	i := 0
	for _, r := range s {
		if i >= len(f) {
			return false
		}
		cls, in := f[i], false
		for j := 0; j+1 < len(cls); j += 2 {
			if r >= cls[j] && r <= cls[j+1] {
				in = true
				break
			}
		}
		if !in {
			return false
		}
		i++
	}
	return i == len(f)
}

// xre is a compiled matches() pattern: the fixed-width fast path when the
// pattern allows, Go's regexp otherwise (and as the reference in tests).
type xre struct {
	re    *regexp.Regexp
	fixed fixedRE
	// dots is set when the pattern is plain characters and "." (an OID taken
	// from the document, matches(id/@root, setId/@root)): an unanchored
	// search where "." is any character but a line end, with no regexp
	// compiled (such patterns differ per document).
	dots string
}

func (x *xre) MatchString(s string) bool {
	switch {
	case x.fixed != nil:
		return x.fixed.match(s)
	case x.dots != "":
		return dotsMatch(x.dots, s)
	}
	return x.re.MatchString(s)
}

// isDots reports whether p is a non-empty run of ASCII letters, digits and
// the literal punctuation - _ : / , and ".", nothing else of regexp syntax.
func isDots(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(".-_:/,", c) >= 0) {
			return false
		}
	}
	return p != ""
}

// dotsMatch is matches(s, p) for an isDots pattern: some substring of s
// matches p, "." standing for one character other than \n and \r (XPath's
// "."; not in dot-all mode).
func dotsMatch(p, s string) bool {
	for start := 0; start <= len(s); {
		i, j := 0, start
		for i < len(p) && j < len(s) {
			if p[i] == '.' {
				r, n := utf8.DecodeRuneInString(s[j:])
				if r == '\n' || r == '\r' {
					break
				}
				j += n
			} else if p[i] == s[j] {
				j++
			} else {
				break
			}
			i++
		}
		if i == len(p) {
			return true
		}
		if start == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[start:])
		start += n
	}
	return false
}
