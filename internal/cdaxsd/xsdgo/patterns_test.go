package xsdgo

import (
	"math/rand/v2"
	"testing"
)

// TestKnownPatterns: each hand-written matcher agrees with RE2 on its
// pattern, over the values that matter (edge cases) and 200,000 random
// strings of the patterns' alphabet.
func TestKnownPatterns(t *testing.T) {
	edge := []string{"", "0", "1.2.643", "1.02", "1.0.1", "3.1", "1.", ".1", "1..2", "true", "false", "True",
		"20240101", "202401011200+0300", "20240101120000.5+03", "20240101120000.+03", "2024010112000.1", "123456789",
		"123456789012345", "20240101120000-1", "20240101120000+12345", "a", "a-1", "1a", "a b", "a\tb",
		"0123abcd-0123-abcd-ABCD-0123456789ab", "0123abcd-0123-abcd-ABCD-0123456789a", "0123abcd_0123-abcd-ABCD-0123456789ab"}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789..++--aZ \t"
	for _, n := range []int{1, 2, 3, 5, 9, 10, 15, 16, 20, 36} {
		for range 20000 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			edge = append(edge, string(b))
		}
	}
	for p, fast := range knownPatterns {
		re, err := xsdRegexp(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range edge {
			if got, want := fast(v), re.MatchString(v); got != want {
				t.Errorf("pattern %s, value %q: hand-written %v, RE2 %v", p, v, got, want)
			}
		}
	}
}
