package schematron

import (
	"regexp"
	"regexp/syntax"
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
}

func (x *xre) MatchString(s string) bool {
	if x.fixed != nil {
		return x.fixed.match(s)
	}
	return x.re.MatchString(s)
}
