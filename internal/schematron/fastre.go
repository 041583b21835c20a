package schematron

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
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
	dfa  *dfa
}

func (x *xre) MatchString(s string) bool {
	switch {
	case x.fixed != nil:
		return x.fixed.match(s)
	case x.dots != "":
		return dotsMatch(x.dots, s)
	case x.dfa != nil:
		if m, ok := x.dfa.match(s); ok {
			return m
		}
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

// dfa is a matches() pattern as a deterministic automaton over ASCII bytes,
// built at compile time from the regexp's program (subset construction), for
// patterns the fixed-width path cannot take, such as the OID patterns
// ^[0-2](\.([1-9][0-9]*|0))+\.100([.]([1-9][0-9]*|0))+\.51$: one table
// lookup per byte instead of the regexp machine. Strings with non-ASCII bytes
// go to the regexp. MatchString semantics: some substring matches.
type dfa struct {
	next   [][128]int16 // per state, per byte: the next state (-1: none can match any more)
	accept []bool       // a match has ended in this state
	atEnd  []bool       // at the end of the input a match ends here ($ satisfied)
	start  int16
}

const maxDFAStates = 512

// compileDFA builds the automaton, or nil when the pattern uses an empty-width
// assertion other than ^ and $ or needs too many states.
func compileDFA(p string) *dfa {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
			return nil
		}
	}
	// closure adds pc and what it reaches without consuming input; ^ holds
	// only at the start, $ is kept in the set and resolved at the end.
	var closure func(set map[uint32]bool, pc uint32, atStart bool)
	closure = func(set map[uint32]bool, pc uint32, atStart bool) {
		if set[pc] {
			return
		}
		set[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			closure(set, in.Out, atStart)
			closure(set, in.Arg, atStart)
		case syntax.InstCapture, syntax.InstNop:
			closure(set, in.Out, atStart)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&syntax.EmptyBeginText != 0 && atStart {
				closure(set, in.Out, atStart)
			}
		}
	}
	key := func(set map[uint32]bool) string {
		pcs := make([]int, 0, len(set))
		for pc := range set {
			pcs = append(pcs, int(pc))
		}
		slices.Sort(pcs)
		return fmt.Sprint(pcs)
	}
	d := &dfa{}
	ids := map[string]int16{}
	var sets []map[uint32]bool
	add := func(set map[uint32]bool) int16 {
		k := key(set)
		if id, ok := ids[k]; ok {
			return id
		}
		id := int16(len(sets))
		ids[k] = id
		sets = append(sets, set)
		acc, end := false, false
		for pc := range set {
			switch in := &prog.Inst[pc]; in.Op {
			case syntax.InstMatch:
				acc = true
			case syntax.InstEmptyWidth:
				if syntax.EmptyOp(in.Arg) == syntax.EmptyEndText {
					// $ at the end: does the rest reach a match without input?
					rest := map[uint32]bool{}
					closure(rest, in.Out, false)
					for q := range rest {
						if prog.Inst[q].Op == syntax.InstMatch {
							end = true
						}
					}
				}
			}
		}
		d.accept = append(d.accept, acc)
		d.atEnd = append(d.atEnd, end || acc)
		d.next = append(d.next, [128]int16{})
		return id
	}
	first := map[uint32]bool{}
	closure(first, uint32(prog.Start), true)
	d.start = add(first)
	for i := 0; i < len(sets); i++ {
		if len(sets) > maxDFAStates {
			return nil
		}
		for c := 0; c < 128; c++ {
			next := map[uint32]bool{}
			for pc := range sets[i] {
				in := &prog.Inst[pc]
				switch in.Op {
				case syntax.InstRune, syntax.InstRune1:
					if in.MatchRune(rune(c)) {
						closure(next, in.Out, false)
					}
				case syntax.InstRuneAny:
					closure(next, in.Out, false)
				case syntax.InstRuneAnyNotNL:
					if c != '\n' {
						closure(next, in.Out, false)
					}
				}
			}
			// Unanchored: a match may start at every position.
			closure(next, uint32(prog.Start), false)
			d.next[i][c] = add(next)
		}
	}
	return d
}

// match reports whether some substring of s matches; ok is false when s
// has a non-ASCII byte (the caller uses the regexp).
func (d *dfa) match(s string) (matched, ok bool) {
	st := d.start
	if d.accept[st] {
		return true, true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false, false
		}
		st = d.next[st][c]
		if d.accept[st] {
			return true, true
		}
	}
	return d.atEnd[st], true
}
