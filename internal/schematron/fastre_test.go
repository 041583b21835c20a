package schematron

import (
	"math/rand/v2"
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
