package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// serve runs a hub built from env on a loopback listener until the test ends.
func serve(t *testing.T, env map[string]string) (*app.App, string) {
	t.Helper()
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		if k == "HUB_TRUSTED_CA_DIR" {
			return caDir
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), testdb.Pool(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a, l.Addr().String()
}

// TestSlowClientIsCutOff: a client that trickles its body one byte a second
// is cut off at HUB_READ_TIMEOUT (1 s here) instead of holding a connection
// and a handler for as long as it likes. The client means to send 10 bytes
// over 10 seconds; the server must answer (408) or close the connection
// before the client gets to the end.
func TestSlowClientIsCutOff(t *testing.T) {
	a, addr := serve(t, map[string]string{"HUB_MODE": "api", "HUB_READ_TIMEOUT": "1s", "HUB_READ_HEADER_TIMEOUT": "1s"})
	org := semdgen.NewOrg(77, 11)
	reg, err := a.Store.RegisterSystem(context.Background(), org.OID, org.Name, "МИС")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const bodyLen = 10
	fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", reg.APIKey, bodyLen)

	answered := make(chan *http.Response, 1)
	readErr := make(chan error, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			readErr <- err
			return
		}
		answered <- res
	}()
	sent := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
trickle:
	for sent < bodyLen {
		select {
		case res := <-answered:
			var e struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			}
			err := json.NewDecoder(res.Body).Decode(&e)
			if res.StatusCode != http.StatusRequestTimeout || err != nil || e.Code != codes.BadRequest || e.RequestID == "" {
				t.Fatalf("answer to a trickling client: %d %+v %v", res.StatusCode, e, err)
			}
			break trickle
		case err := <-readErr:
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) {
				t.Logf("connection ended: %v", err)
			}
			break trickle
		case <-tick.C:
			if _, err := conn.Write([]byte("{")); err != nil {
				break trickle // the server closed the connection
			}
			sent++
		}
	}
	if sent >= bodyLen {
		t.Fatalf("the server kept reading a body trickled at 1 byte/s for %d s (HUB_READ_TIMEOUT=1s)", sent)
	}
	t.Logf("cut off after %d of %d bytes", sent, bodyLen)
	// The connection is closed after the answer: a further read gets nothing.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection still open after the cut-off: read %d bytes, %v", n, err)
	}
}
