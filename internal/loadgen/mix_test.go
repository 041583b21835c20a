package loadgen

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Mix
		wantErr string
	}{
		{in: "certificates=60,referrals=30,results=10", want: Mix{Certificates: 0.6, Referrals: 0.3, Results: 0.1}},
		{in: "certificates=1, results=1", want: Mix{Certificates: 0.5, Results: 0.5}},
		{in: "referrals=7", want: Mix{Referrals: 1}},
		{in: "certificates=3,referrals=0", want: Mix{Certificates: 1, Referrals: 0}},
		{in: "", wantErr: "no kind"},
		{in: "certificates=0", wantErr: "no kind"},
		{in: "births=10", wantErr: "unknown kind"},
		{in: "certificates", wantErr: "kind=weight"},
		{in: "certificates=-1,results=2", wantErr: "≥ 0"},
		{in: "certificates=x", wantErr: "≥ 0"},
		{in: "certificates=NaN", wantErr: "≥ 0"},
		{in: "results=1,results=2", wantErr: "twice"},
	} {
		got, err := ParseMix(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMix(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMix(%q): %v", tc.in, err)
			continue
		}
		for _, k := range mixKinds {
			if d := got[k] - tc.want[k]; d > 1e-9 || d < -1e-9 {
				t.Errorf("ParseMix(%q)[%s] = %v, want %v", tc.in, k, got[k], tc.want[k])
			}
		}
	}
}

func TestMixStringRoundTrips(t *testing.T) {
	m, err := ParseMix("certificates=60,referrals=30,results=10")
	if err != nil {
		t.Fatal(err)
	}
	if s := m.String(); s != "certificates=60,referrals=30,results=10" {
		t.Fatalf("String() = %q", s)
	}
}

func TestPlanKeepsTheShares(t *testing.T) {
	count := func(p []string) map[string]int {
		c := map[string]int{}
		for _, k := range p {
			c[k]++
		}
		return c
	}
	for _, tc := range []struct {
		mix  string
		n    int
		want map[string]int
	}{
		{"certificates=60,referrals=30,results=10", 100, map[string]int{Certificates: 60, Referrals: 30, Results: 10}},
		{"certificates=60,referrals=30,results=10", 10, map[string]int{Certificates: 6, Referrals: 3, Results: 1}},
		// 3 × 1/3 of 10: the remainder goes to one kind, none is left out.
		{"certificates=1,referrals=1,results=1", 10, map[string]int{Certificates: 4, Referrals: 3, Results: 3}},
		{"certificates=98,results=2", 10, map[string]int{Certificates: 10}},
		{"results=1", 5, map[string]int{Results: 5}},
	} {
		m, err := ParseMix(tc.mix)
		if err != nil {
			t.Fatal(err)
		}
		p := m.Plan(tc.n, 42)
		if len(p) != tc.n {
			t.Errorf("Plan(%d) of %s: %d flows", tc.n, tc.mix, len(p))
		}
		got := count(p)
		for _, k := range mixKinds {
			if got[k] != tc.want[k] {
				t.Errorf("Plan(%d) of %s: %s %d, want %d (all: %v)", tc.n, tc.mix, k, got[k], tc.want[k], got)
			}
		}
	}
	m, _ := ParseMix("certificates=50,referrals=50")
	if a, b := m.Plan(50, 7), m.Plan(50, 7); !slices.Equal(a, b) {
		t.Error("Plan is not repeatable for a seed")
	}
	if a, b := m.Plan(50, 7), m.Plan(50, 8); slices.Equal(a, b) {
		t.Error("Plan's order does not depend on the seed")
	}
}
