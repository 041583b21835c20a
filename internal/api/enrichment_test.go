package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
)

// TestEnrichmentPolicyBySNILSAndENP runs the enrichment API against the
// policy registry simulator over HTTP: a policy seeded with POST
// /control/policies is found by СНИЛС and by ЕНП, reused from the cache
// within HUB_POLICY_CACHE_TTL and asked again after it; a bad checksum is
// refused before any call; an unknown person is 404 POLICY_NOT_FOUND; the
// registry down is 503 POLICY_REGISTRY_UNAVAILABLE; no identifier reaches
// the log.
func TestEnrichmentPolicyBySNILSAndENP(t *testing.T) {
	reg := sim.NewPolicyRegistry()
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	b, logs := setupWith(t, nil, map[string]string{"HUB_POLICY_URL": srv.URL + "/soap", "HUB_POLICY_CACHE_TTL": "1s", "HUB_SOAP_TIMEOUT": "2s"}, nil)
	person := semdgen.RandomPerson(b.rand, 77)
	unknown := semdgen.RandomPerson(b.rand, 77)
	res, err := http.Post(srv.URL+"/control/policies", "application/json",
		strings.NewReader(`{"snils":"`+person.SNILS+`","enp":"`+person.ENP+`","insurer":"АО «СК «СОГАЗ-Мед»","active":true}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("seed: %v %v", res, err)
	}
	res.Body.Close()
	calls := func() int { return reg.Counters()["FindPolicy"].Received }

	r := b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": person.SNILS[:3] + "-" + person.SNILS[3:6] + "-" + person.SNILS[6:9] + " " + person.SNILS[9:]})
	pol, _ := r.Body["policy"].(map[string]any)
	if r.Status != 200 || r.Body["enp"] != person.ENP || r.Body["snils"] != person.SNILS || pol["insurer"] != "АО «СК «СОГАЗ-Мед»" || pol["active"] != true || r.Body["cached"] != false {
		t.Fatalf("by СНИЛС: %d %s", r.Status, r.Raw)
	}
	if r := b.do("POST", "/api/v1/enrichment/enp", b.keyA, map[string]string{"enp": person.ENP}); r.Status != 200 || r.Body["snils"] != person.SNILS || r.Body["cached"] != true {
		t.Fatalf("by ЕНП (cached under both): %d %s", r.Status, r.Raw)
	}
	if n := calls(); n != 1 {
		t.Fatalf("registry asked %d times, want 1", n)
	}

	// Checksums first: no call.
	badSNILS := person.SNILS[:10] + string('0'+(person.SNILS[10]-'0'+1)%10)
	assertErrorShape(t, b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": badSNILS}), 400, "INVALID_SNILS")
	badENP := person.ENP[:15] + string('0'+(person.ENP[15]-'0'+1)%10)
	assertErrorShape(t, b.do("POST", "/api/v1/enrichment/enp", b.keyA, map[string]string{"enp": badENP}), 400, "INVALID_ENP")
	assertErrorShape(t, b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"enp": person.ENP}), 400, "BAD_REQUEST")
	if n := calls(); n != 1 {
		t.Fatalf("registry asked %d times after refused identifiers, want 1", n)
	}

	// Not found: asked, not cached.
	for range 2 {
		assertErrorShape(t, b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": unknown.SNILS}), 404, "POLICY_NOT_FOUND")
	}
	if n := calls(); n != 3 {
		t.Fatalf("registry asked %d times, want 3 (a not-found is not cached)", n)
	}

	// The registry down: 503 with a code; what is cached still answers.
	now := time.Now()
	reg.SetFaults(map[string]sim.Faults{"FindPolicy": {Outages: []sim.Window{{Start: now.Add(-time.Second), End: now.Add(time.Hour)}}}})
	r = b.do("POST", "/api/v1/enrichment/enp", b.keyA, map[string]string{"enp": unknown.ENP})
	assertErrorShape(t, r, 503, "POLICY_REGISTRY_UNAVAILABLE")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After")
	}
	if r := b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": person.SNILS}); r.Status != 200 || r.Body["cached"] != true {
		t.Fatalf("cached answer while the registry is down: %d %s", r.Status, r.Raw)
	}
	// Past the TTL the registry is asked again (and is still down).
	time.Sleep(1100 * time.Millisecond)
	assertErrorShape(t, b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": person.SNILS}), 503, "POLICY_REGISTRY_UNAVAILABLE")
	reg.SetFaults(nil)
	if r := b.do("POST", "/api/v1/enrichment/snils", b.keyA, map[string]string{"snils": person.SNILS}); r.Status != 200 || r.Body["cached"] != false {
		t.Fatalf("after the TTL, the registry back: %d %s", r.Status, r.Raw)
	}

	out := logs.String()
	if !strings.Contains(out, "/api/v1/enrichment/snils") {
		t.Fatalf("the requests were not logged: %s", out)
	}
	for _, id := range []string{person.SNILS, person.ENP, unknown.SNILS, unknown.ENP, badSNILS, badENP} {
		if bytes.Contains([]byte(out), []byte(id)) {
			t.Fatalf("an identifier reached the log: %s", out)
		}
	}
}
