package loadgen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Flow kinds of a mix.
const (
	// Certificates are birth, death and perinatal-death certificates
	// (58, 59, 76): their end point is delivery to ЕГР ЗАГС and ЕПГУ.
	Certificates = "certificates"
	// Referrals are MSE referrals (121) whose linked documents sit at the
	// provider simulator: their end point is the package accepted by the bureau (sent).
	Referrals = "referrals"
	// Results are MSE referrals too, followed further: their end point is
	// the bureau's result (187) available to the МИС. The simulated bureau
	// answers every complete referral, so the hub takes in a result for
	// referrals and results alike; the kinds differ in what is timed.
	Results = "results"
)

var mixKinds = []string{Certificates, Referrals, Results}

// Mix is the share of each flow kind, normalised to sum 1.
type Mix map[string]float64

// ParseMix reads "certificates=60,referrals=30,results=10": weights, not
// necessarily summing to 100, of the known kinds; a kind left out has 0.
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	var sum float64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("mix %q: want kind=weight, got %q", s, part)
		}
		k = strings.TrimSpace(k)
		if !known(k) {
			return nil, fmt.Errorf("mix %q: unknown kind %q (want %s)", s, k, strings.Join(mixKinds, ", "))
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("mix %q: %s given twice", s, k)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || w < 0 || w != w || w > 1e9 {
			return nil, fmt.Errorf("mix %q: weight of %s must be a number ≥ 0, got %q", s, k, v)
		}
		m[k] = w
		sum += w
	}
	if sum == 0 {
		return nil, fmt.Errorf("mix %q: no kind has a weight above 0", s)
	}
	for k := range m {
		m[k] /= sum
	}
	return m, nil
}

func known(k string) bool {
	for _, x := range mixKinds {
		if x == k {
			return true
		}
	}
	return false
}

// String renders the mix as ParseMix reads it, in percent.
func (m Mix) String() string {
	var parts []string
	for _, k := range mixKinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%s", k, strconv.FormatFloat(100*m[k], 'f', -1, 64)))
		}
	}
	return strings.Join(parts, ",")
}

// Plan draws n flow kinds from the mix, repeatably for a seed. Each kind
// gets its share rounded, the remainder going to the largest shares, so a
// small run still has every kind with a share; the order is shuffled.
func (m Mix) Plan(n int, seed uint64) []string {
	kinds := append([]string(nil), mixKinds...)
	counts := map[string]int{}
	given := 0
	for _, k := range kinds {
		counts[k] = int(m[k] * float64(n))
		given += counts[k]
	}
	sort.SliceStable(kinds, func(i, j int) bool {
		fi := m[kinds[i]]*float64(n) - float64(counts[kinds[i]])
		fj := m[kinds[j]]*float64(n) - float64(counts[kinds[j]])
		return fi > fj
	})
	for i := 0; given < n; i++ {
		k := kinds[i%len(kinds)]
		if m[k] > 0 {
			counts[k]++
			given++
		}
	}
	out := make([]string, 0, n)
	for _, k := range mixKinds {
		for i := 0; i < counts[k]; i++ {
			out = append(out, k)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x10ad))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
