package loadgen

import (
	"strings"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(1, 2, 3, 4), 0, time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 95, 95 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	l := Summarize(ms(40, 10, 30, 20)) // unsorted on purpose
	want := Latency{N: 4, P50: 20, P95: 40, P99: 40, Max: 40, Mean: 25}
	if l != want {
		t.Fatalf("Summarize = %+v, want %+v", l, want)
	}
	if (Summarize(nil) != Latency{}) {
		t.Fatal("Summarize(nil) is not zero")
	}
	if l := Summarize([]time.Duration{1500 * time.Microsecond}); l.P50 != 1.5 {
		t.Fatalf("sub-millisecond precision lost: %+v", l)
	}
}

func TestRateAndPerDoc(t *testing.T) {
	for _, tc := range []struct {
		n    int
		d    time.Duration
		want float64
	}{
		{100, 5 * time.Second, 20},
		{1, 3 * time.Second, 0.3},
		{10, 0, 0},
		{10, -time.Second, 0},
		{0, time.Second, 0},
		{2500, 2500 * time.Millisecond, 1000},
	} {
		if got := Rate(tc.n, tc.d); got != tc.want {
			t.Errorf("Rate(%d, %v) = %v, want %v", tc.n, tc.d, got, tc.want)
		}
	}
	if got := PerDoc(3, 4); got != 0.75 {
		t.Errorf("PerDoc(3, 4) = %v", got)
	}
	if got := PerDoc(3, 0); got != 0 {
		t.Errorf("PerDoc(3, 0) = %v", got)
	}
}

func TestConfigRefusesContradictions(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no load shape", Config{}, "give -rate"},
		{"both shapes", Config{Rate: 1, Concurrency: 1}, "exclude"},
		{"split of one", Config{Rate: 1, Topology: "split", Procs: 1}, "-procs 2"},
		{"unknown topology", Config{Rate: 1, Topology: "mesh"}, "topology"},
		{"url without key", Config{Rate: 1, URL: "http://127.0.0.1:1"}, "-key"},
		{"pgbench on a url", Config{Rate: 1, URL: "http://127.0.0.1:1", Keys: []string{"k"}, PGBench: true}, "self-contained"},
		{"referrals without provider", Config{Rate: 1, URL: "http://127.0.0.1:1", Keys: []string{"k"}, Mix: Mix{Results: 1}}, "-provider"},
	} {
		err := tc.cfg.defaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
