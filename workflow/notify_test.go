package workflow_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/workflow"
)

// callbackAllow lets tests' loopback receivers take callbacks, as an
// operator allows an on-premise МИС's network.
var callbackAllow = map[string]string{"HUB_CALLBACK_ALLOW_CIDRS": "127.0.0.0/8", "HUB_CALLBACK_ALLOW_HTTP": "true"}

// received is one callback as the receiver saw it.
type received struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T) (*httptest.Server, chan received) {
	ch := make(chan received, 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- received{header: r.Header.Clone(), body: body}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// notifySystemA records a notification for МИС A and queues its delivery,
// as the flows do.
func (e *env) notifySystemA(event string) uuid.UUID {
	e.t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	if _, err := e.app.Pool.Exec(ctx, `INSERT INTO notifications (id, system_id, event, subject_id, payload)
		SELECT $1, s.id, $2, $1, '{}' FROM information_systems s JOIN organizations o ON o.id = s.organization_id WHERE o.oid = $3`,
		id, event, e.orgA.OID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.app.Engine.River.Insert(ctx, workflow.NotifyArgs{NotificationID: id}, nil); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) notificationState(id uuid.UUID) (delivered bool, attempts int, lastError string) {
	e.t.Helper()
	var le *string
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT delivered_at IS NOT NULL, attempts, last_error FROM notifications WHERE id = $1`, id).
		Scan(&delivered, &attempts, &le); err != nil {
		e.t.Fatal(err)
	}
	if le != nil {
		lastError = *le
	}
	return
}

func next(t *testing.T, ch chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no callback arrived")
	}
	return received{}
}

// An allow-listed loopback receiver gets signed notifications through the
// notify queue. After a secret rotation both secrets verify for the grace
// period (a receiver still on the old secret keeps working, one on the new
// verifies at once); after it only the new one does; a stale timestamp or a
// changed body never verifies.
func TestCallbackSignedAndRotatedWithoutGap(t *testing.T) {
	e := newEnv(t, callbackAllow)
	mis, got := receiver(t)
	st, cb := e.do("PUT", "/api/v1/me/callback", e.keyA, map[string]string{"url": mis.URL + "/hub"})
	if st != 200 {
		t.Fatalf("callback: %d %v", st, cb)
	}
	oldSecret, _ := base64.StdEncoding.DecodeString(cb["secret"].(string))

	n1 := e.notifySystemA("test.one")
	r := next(t, got)
	if err := workflow.VerifyCallback(oldSecret, r.header, r.body, time.Now()); err != nil || r.header.Get(workflow.PreviousSignatureHeader) != "" {
		t.Fatalf("first callback: %v, headers %v", err, r.header)
	}
	if !strings.Contains(string(r.body), n1.String()) {
		t.Fatalf("body %s lacks the notification id", r.body)
	}
	e.waitFor("delivery recorded", func() bool { d, _, _ := e.notificationState(n1); return d })

	st, rot := e.do("POST", "/api/v1/me/callback/secret", e.keyA, nil)
	if st != 201 {
		t.Fatalf("rotate: %d %v", st, rot)
	}
	newSecret, _ := base64.StdEncoding.DecodeString(rot["secret"].(string))
	e.notifySystemA("test.two")
	r = next(t, got)
	if err := workflow.VerifyCallback(oldSecret, r.header, r.body, time.Now()); err != nil {
		t.Fatalf("old-secret receiver during the grace period: %v", err)
	}
	if err := workflow.VerifyCallback(newSecret, r.header, r.body, time.Now()); err != nil {
		t.Fatalf("new-secret receiver: %v", err)
	}
	if err := workflow.VerifyCallback(newSecret, r.header, r.body, time.Now().Add(6*time.Minute)); err == nil {
		t.Fatal("a 6-minute-old timestamp verified (replay)")
	}
	if err := workflow.VerifyCallback(newSecret, r.header, append(r.body, ' '), time.Now()); err == nil {
		t.Fatal("a changed body verified")
	}
	if err := workflow.VerifyCallback([]byte("another secret"), r.header, r.body, time.Now()); err == nil {
		t.Fatal("a wrong secret verified")
	}

	// The grace period ends.
	if _, err := e.app.Pool.Exec(context.Background(), `UPDATE information_systems SET callback_secret_prev_until = now() - interval '1 second' WHERE callback_secret_prev IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	e.notifySystemA("test.three")
	r = next(t, got)
	if err := workflow.VerifyCallback(oldSecret, r.header, r.body, time.Now()); err == nil {
		t.Fatal("the old secret still verifies after the grace period")
	}
	if err := workflow.VerifyCallback(newSecret, r.header, r.body, time.Now()); err != nil || r.header.Get(workflow.PreviousSignatureHeader) != "" {
		t.Fatalf("after the grace period: %v, headers %v", err, r.header)
	}
}

// DNS rebinding: the name resolved to a public address when the URL was
// set, and resolves to loopback when the hub connects. The connect-time
// check refuses it; the receiver never sees a request; the owner sees the
// category, not dial text.
func TestCallbackRebindingRefusedAtConnect(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_CALLBACK_ALLOW_HTTP": "true"}) // no allow-list
	var hits atomic.Int32
	mis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer mis.Close()
	port := mis.Listener.Addr().(*net.TCPAddr).Port
	// Set through the API with a public address, then pointed at a name
	// that now resolves to loopback (what a rebinding DNS does between the
	// check and the connection).
	if st, cb := e.do("PUT", "/api/v1/me/callback", e.keyA, map[string]string{"url": "http://93.184.216.34/"}); st != 200 {
		t.Fatalf("callback: %d %v", st, cb)
	}
	if _, err := e.app.Pool.Exec(context.Background(), `UPDATE information_systems SET callback_url = $1 WHERE callback_url IS NOT NULL`,
		"http://localhost:"+strconv.Itoa(port)+"/"); err != nil {
		t.Fatal(err)
	}
	id := e.notifySystemA("test.rebind")
	e.waitFor("the attempt refused", func() bool { _, n, _ := e.notificationState(id); return n > 0 })
	delivered, _, lastErr := e.notificationState(id)
	if delivered || lastErr != "forbidden_address" || hits.Load() != 0 {
		t.Fatalf("delivered %v, last error %q, receiver hit %d times", delivered, lastErr, hits.Load())
	}
	st, view := e.do("GET", "/api/v1/me/callback", e.keyA, nil)
	if st != 200 || !strings.Contains(string(must(json.Marshal(view))), `"last_error":"forbidden_address"`) {
		t.Fatalf("owner's view: %d %v", st, view)
	}
	// A loopback literal stored before the policy existed is refused
	// before any connection is tried, and not retried.
	if _, err := e.app.Pool.Exec(context.Background(), `UPDATE information_systems SET callback_url = $1 WHERE callback_url IS NOT NULL`, mis.URL); err != nil {
		t.Fatal(err)
	}
	id = e.notifySystemA("test.literal")
	e.waitFor("the attempt refused", func() bool { _, n, _ := e.notificationState(id); return n > 0 })
	if delivered, _, lastErr := e.notificationState(id); delivered || lastErr != "forbidden_url" || hits.Load() != 0 {
		t.Fatalf("delivered %v, last error %q, receiver hit %d times", delivered, lastErr, hits.Load())
	}
	e.waitFor("the job cancelled, not retried", func() bool {
		var state string
		_ = e.app.Pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE args->>'notification_id' = $1`, id.String()).Scan(&state)
		return state == "cancelled"
	})
}

// A receiver that redirects is not followed (the 3xx is the answer), and a
// failed delivery is stored as a category, never as dial text.
func TestCallbackFailuresAreCategories(t *testing.T) {
	e := newEnv(t, callbackAllow)
	var inner atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.Add(1) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // a port nobody listens on
	for _, tc := range []struct{ url, want string }{
		{redirector.URL, "http_307"},
		{downURL, "refused"},
	} {
		if st, cb := e.do("PUT", "/api/v1/me/callback", e.keyA, map[string]string{"url": tc.url}); st != 200 {
			t.Fatalf("callback: %d %v", st, cb)
		}
		id := e.notifySystemA("test.fail")
		e.waitFor("an attempt", func() bool { _, n, _ := e.notificationState(id); return n > 0 })
		if d, _, le := e.notificationState(id); d || le != tc.want {
			t.Errorf("%s: delivered %v, last error %q, want %q", tc.url, d, le, tc.want)
		}
		// Stop its retries before the next case changes the URL.
		if _, err := e.app.Pool.Exec(context.Background(), `UPDATE notifications SET delivered_at = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	if inner.Load() != 0 {
		t.Fatalf("the redirect was followed %d times", inner.Load())
	}
}

// The README's receiver is VerifyCallback itself, word for word.
func TestReadmeShowsVerifyCallback(t *testing.T) {
	src, err := os.ReadFile("receiver.go")
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, "receiver.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fn string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "VerifyCallback" {
			fn = string(src[fs.Position(fd.Pos()).Offset:fs.Position(fd.End()).Offset])
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fn == "" || !strings.Contains(string(readme), fn) {
		t.Fatalf("README.md must show VerifyCallback as in receiver.go:\n%s", fn)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
