package app_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

// TestMetricsOnTheirOwnAddress: with HUB_METRICS_ADDR set, /metrics is
// served there, without a key, and not on the API's address; the River
// and pool series are in it.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := l.Addr().String()
	l.Close()
	_, addr := serve(t, map[string]string{"HUB_METRICS_ADDR": maddr})
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + maddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("metrics: %d %s", res.StatusCode, b)
			}
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not served on HUB_METRICS_ADDR %s: %v", maddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`hub_river_stats_up 1`, `hub_queue_depth{queue="fetch"}`, `hub_db_pool_conns{state="max"}`, `hub_breaker_open{peer="epgu"} 0`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API address: %d, want 404", res.StatusCode)
	}
}

// TestMetricsAddressInUseStopsTheStart: a HUB_METRICS_ADDR that cannot be
// listened on is an error at start, not a silent lack of metrics.
func TestMetricsAddressInUseStopsTheStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HUB_TRUSTED_CA_DIR": caDir, "HUB_METRICS_ADDR": l.Addr().String(), "HUB_MODE": "api"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), testdb.Pool(t))
	if err != nil {
		t.Fatal(err)
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	err = a.Serve(t.Context(), api)
	if err == nil || !strings.Contains(err.Error(), "HUB_METRICS_ADDR") {
		t.Fatalf("Serve with the metrics address taken: %v", err)
	}
}
