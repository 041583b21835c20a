package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/workflow"
)

// demoCallbackEnv lets the demo's МИС receiver on loopback take callbacks:
// an operator allows an on-premise МИС's network the same way. Without it
// a loopback URL is refused with CALLBACK_URL_FORBIDDEN.
var demoCallbackEnv = map[string]string{"HUB_CALLBACK_ALLOW_CIDRS": "127.0.0.0/8", "HUB_CALLBACK_ALLOW_HTTP": "true"}

// demoReceiver is a МИС's callback endpoint as its developers would write
// it: every notification verified with workflow.VerifyCallback (the
// README's receiver).
type demoReceiver struct {
	srv              *http.Server
	secret           atomic.Pointer[[]byte]
	got, ok          atomic.Int32
	forbiddenAnswers string
}

// startDemoReceiver serves the receiver on loopback and registers it as
// key's callback; it also shows a МИС being refused a metadata address.
func startDemoReceiver(call func(method, path, key string, body any) (int, map[string]any), key, otherKey string) (*demoReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoReceiver{}
	d.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		d.got.Add(1)
		if s := d.secret.Load(); s != nil && workflow.VerifyCallback(*s, r.Header, body, time.Now()) == nil {
			d.ok.Add(1)
		}
	})}
	go func() { _ = d.srv.Serve(l) }()
	st, out := call("PUT", "/api/v1/me/callback", key, map[string]string{"url": "http://" + l.Addr().String() + "/hub-events"})
	if st != http.StatusOK {
		_ = d.srv.Close()
		return nil, fmt.Errorf("setting the demo callback: HTTP %d %v", st, out)
	}
	secret, err := base64.StdEncoding.DecodeString(fmt.Sprint(out["secret"]))
	if err != nil {
		_ = d.srv.Close()
		return nil, fmt.Errorf("demo callback secret: %w", err)
	}
	d.secret.Store(&secret)
	st, out = call("PUT", "/api/v1/me/callback", otherKey, map[string]string{"url": "http://169.254.169.254/latest/meta-data/"})
	d.forbiddenAnswers = fmt.Sprintf("HTTP %d %v", st, out["code"])
	if out["code"] != codes.CallbackURLForbidden {
		_ = d.srv.Close()
		return nil, fmt.Errorf("a metadata callback URL was not refused: %s", d.forbiddenAnswers)
	}
	return d, nil
}

// settle waits (until deadline) for every notification to be delivered,
// then stops the receiver and says what it got.
func (d *demoReceiver) settle(ctx context.Context, pending func() int, deadline time.Time) string {
	for pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	_ = d.srv.Close()
	return fmt.Sprintf("%d notifications POSTed to the МИС receiver on loopback (allowed by HUB_CALLBACK_ALLOW_CIDRS), %d verified (HMAC-SHA256, timestamp ≤ 5 min); a callback to 169.254.169.254 → %s",
		d.got.Load(), d.ok.Load(), d.forbiddenAnswers)
}
