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
