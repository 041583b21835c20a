package procs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitHTTP: a server that answers 503 twice is waited for until its
// 200; one that never answers 200 ends with the context and says what it saw.
func TestWaitHTTP(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := WaitHTTP(context.Background(), srv.URL); err != nil || n.Load() != 3 {
		t.Fatalf("WaitHTTP: %v after %d requests", err, n.Load())
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := WaitHTTP(ctx, down.URL); err == nil || !strings.Contains(err.Error(), "HTTP 502") {
		t.Fatalf("WaitHTTP on a server that never gets ready: %v", err)
	}
}

func TestFreeAddrAndTail(t *testing.T) {
	a, err := FreeAddr()
	if err != nil || !strings.HasPrefix(a, "127.0.0.1:") {
		t.Fatalf("FreeAddr: %q %v", a, err)
	}
	p := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(p, []byte("first line\nlast line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Tail(p, 10); got != "last line" {
		t.Fatalf("Tail = %q", got)
	}
}
