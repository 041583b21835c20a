package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/testdb"
)

// syncBuffer is a bytes.Buffer the demo writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoStay runs `hub demo -stay`: after the flows the hub stays up and
// prints an operator key and where to look; River UI answers that key (and
// 401 without it), /metrics shows the demo's intake and peer calls,
// /openapi.yaml is served; cancelling (Ctrl-C) ends it cleanly.
func TestDemoStay(t *testing.T) {
	t.Setenv("DATABASE_URL", testdb.URL(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"demo", "-seed", "7", "-stay"}, &out, &errOut) }()
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("demo -stay exited %d before staying\n%s\n%s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo -stay never said it stays:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	s := out.String()
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("demo -stay output lacks %s:\n%s", re, s)
		}
		return m[1]
	}
	key := field(`operator key +(hub_\S+)`)
	riverUI := field(`River UI +(http://127\.0\.0\.1:\d+/riverui/)`)
	metricsURL := field(`metrics +(http://127\.0\.0\.1:\d+/metrics)`)
	openAPI := field(`OpenAPI +(http://127\.0\.0\.1:\d+/openapi\.yaml)`)
	field(`console +(http://127\.0\.0\.1:\d+/console/)`)

	get := func(url, key string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := get(riverUI+"api/jobs?state=completed", key); st != 200 || !strings.Contains(body, `"kind"`) {
		t.Errorf("River UI with the printed key: %d %.300s", st, body)
	}
	if st, _ := get(riverUI, ""); st != http.StatusUnauthorized {
		t.Errorf("River UI without a key: %d", st)
	}
	st, metrics := get(metricsURL, "")
	if st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`hub_intake_total\{code="",kind="121",outcome="accepted"\} [1-9]`),
		regexp.MustCompile(`hub_intake_total\{code="INVALID_SNILS",kind="121",outcome="refused"\} [1-9]`),
		regexp.MustCompile(`hub_exchange_seconds_count\{operation="SendReferral",outcome="ok",peer="mse"\} [1-9]`),
		regexp.MustCompile(`hub_queue_depth\{queue="zags"\} \d`),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if st, body := get(openAPI, ""); st != 200 || !strings.HasPrefix(body, "openapi: 3.1") {
		t.Errorf("openapi.yaml: %d", st)
	}

	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("demo -stay exited %d after Ctrl-C\n%s", code, errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("demo -stay did not stop after Ctrl-C")
	}
}
