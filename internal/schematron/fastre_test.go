package schematron

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestFixedRegexpAgreesWithRegexp: the fast path gives Go regexp's answer on
// the official files' patterns, over strings near and far from matching.
func TestFixedRegexpAgreesWithRegexp(t *testing.T) {
	s, err := Official("121")
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []rune("0123456789+-. tx\u0430")
	r := rand.New(rand.NewPCG(1, 1))
	fast := 0
	for p, x := range s.regexps {
		if x.fixed == nil {
			continue
		}
		fast++
		samples := []string{"", "20240101", "202401011230+0300", "20240101123000+0300", "1234567890123", "123456", "12", "2024", "202401"}
		for range 2000 {
			n := r.IntN(22)
			b := make([]rune, n)
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			samples = append(samples, string(b))
		}
		for _, v := range samples {
			if got, want := x.fixed.match(v), x.re.MatchString(v); got != want {
				t.Errorf("%s on %q: fast %v, regexp %v", p, v, got, want)
			}
		}
	}
	if fast < 5 {
		t.Errorf("only %d patterns on the fast path", fast)
	}
	if compileFixed(`^a+$`) != nil || compileFixed(`[0-9]{3}`) != nil || compileFixed(`^(?i)a$`) != nil {
		t.Error("a pattern of variable width or unanchored took the fast path")
	}
}

// TestDotsMatchAgreesWithRegexp: the search used for OID patterns taken from
// the document (matches(id/@root, setId/@root)) gives regexp's answer, "."
// standing for one character (also a multi-byte one) other than a line end.
func TestDotsMatchAgreesWithRegexp(t *testing.T) {
	patterns := []string{"1.2.643.5.1.13.13.12.2.77.7823", "1.2", ".", "..", "a-b_c:d/e,f", "ab.", "x"}
	if isDots("1.2+") || isDots("^1.2") || isDots("") || isDots("a[b]") || isDots(`1\.2`) {
		t.Error("a pattern with regexp syntax taken for a dotted literal")
	}
	alphabet := []rune("12.3x-ab\u0430\n\r")
	r := rand.New(rand.NewPCG(2, 2))
	for _, p := range patterns {
		if !isDots(p) {
			t.Fatalf("%q not recognised", p)
		}
		// Go's "." excludes only \n; XPath's excludes \r too.
		re := regexp.MustCompile(strings.ReplaceAll(p, ".", `[^\n\r]`))
		samples := []string{"", p, "1.2.643.5.1.13.13.12.2.77.7823.100.1.1.51", "x" + p + "y", "1\u04302"}
		for range 3000 {
			b := make([]rune, r.IntN(12))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			samples = append(samples, string(b))
		}
		for _, v := range samples {
			if got, want := dotsMatch(p, v), re.MatchString(v); got != want {
				t.Errorf("%q on %q: dots %v, regexp %v", p, v, got, want)
			}
		}
	}
}

// TestDFAAgreesWithRegexp: the automaton gives regexp's answer for every
// pattern of the official files it takes, over random ASCII strings built
// from the patterns' own characters.
func TestDFAAgreesWithRegexp(t *testing.T) {
	set, err := OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 3))
	taken := 0
	extra := []string{`^a.c$`, `ab|^cd`, `x*`, `^$`, `(a|b)+c`}
	check := func(p string, d *dfa) {
		re := regexp.MustCompile(p)
		alphabet := []byte("0123456789.-+ ()tel:abcx\n")
		samples := []string{"", "1.2.643.5.1.13.13.12.2.77.7823.100.1.1.51", "1.2.643.100.3", "tel:+7(495)1234567", "123-456-789 01", "abc", "ac\n"}
		for range 3000 {
			b := make([]byte, r.IntN(30))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			samples = append(samples, string(b))
		}
		for _, v := range samples {
			got, ok := d.match(v)
			if !ok {
				t.Fatalf("%q: ASCII subject refused", v)
			}
			if want := re.MatchString(v); got != want {
				t.Errorf("%s on %q: dfa %v, regexp %v", p, v, got, want)
			}
		}
	}
	for _, k := range set.Kinds() {
		for p, x := range set[k].regexps {
			if x.dfa != nil {
				taken++
				check(p, x.dfa)
			}
		}
	}
	for _, p := range extra {
		d := compileDFA(p)
		if d == nil {
			t.Fatalf("%s: no automaton", p)
		}
		check(p, d)
	}
	if taken == 0 {
		t.Error("no official pattern took the automaton")
	}
	if _, ok := compileDFA(`^a$`).match("а"); ok {
		t.Error("a non-ASCII subject was not left to the regexp")
	}
	if compileDFA(`\bx`) != nil {
		t.Error("a word boundary took the automaton")
	}
}
