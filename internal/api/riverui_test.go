package api_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/store"
)

// TestRiverUIForOperatorsOnly: /riverui/ answers 401 to anyone but an
// operator (no key, a wrong key, a МИС key), serves the UI and its API to
// an operator key, and to the console's session through the Session hook.
func TestRiverUIForOperatorsOnly(t *testing.T) {
	b := setup(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := b.app.StartRiverUI(ctx); err != nil {
		t.Fatal(err)
	}
	// A referral with two links: two fetch jobs for the UI to list.
	d := b.build(semdgen.Options{Kind: "121", Links: []semdgen.Link{{Kind: "119", ID: "c1"}, {Kind: "186", ID: "l1"}}})
	if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Raw)
	}
	paths := []string{"/riverui/", "/riverui/jobs", "/riverui/api/jobs?state=available", "/riverui/api/queues", "/riverui"}
	for _, p := range paths {
		for name, key := range map[string]string{"no key": "", "unknown key": "hub_" + strings.Repeat("0", 43), "МИС key": b.keyA} {
			r := b.do("GET", p, key, nil)
			assertErrorShape(t, r, http.StatusUnauthorized, codes.Unauthenticated)
			if t.Failed() {
				t.Fatalf("%s %s: %d %s", name, p, r.Status, r.Raw)
			}
		}
	}
	// A state-changing call of the UI's API is refused the same way.
	if r := b.do("POST", "/riverui/api/jobs/cancel", b.keyA, map[string]any{"job_ids": []string{"1"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("МИС cancels a job: %d %s", r.Status, r.Raw)
	}

	page := b.do("GET", "/riverui/", b.keyOp, nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.Raw), "<html") {
		t.Fatalf("UI page: %d %s %.200s", page.Status, page.Header.Get("Content-Type"), page.Raw)
	}
	// The page's script is served from the binary under the prefix.
	script := regexp.MustCompile(`src="(/riverui/assets/[^"]+\.js)"`).FindStringSubmatch(string(page.Raw))
	if script == nil {
		t.Fatalf("no script in the UI page: %.500s", page.Raw)
	}
	if r := b.do("GET", script[1], b.keyOp, nil); r.Status != http.StatusOK || len(r.Raw) < 1000 {
		t.Fatalf("UI script %s: %d, %d bytes", script[1], r.Status, len(r.Raw))
	}
	if r := b.do("GET", script[1], "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("UI script without a key: %d", r.Status)
	}
	if r := b.do("GET", "/riverui", b.keyOp, nil); r.Status != http.StatusOK && r.Status != http.StatusMovedPermanently {
		t.Fatalf("/riverui: %d", r.Status)
	}
	jobs := b.do("GET", "/riverui/api/jobs?state=available", b.keyOp, nil)
	data, _ := jobs.Body["data"].([]any)
	if jobs.Status != http.StatusOK || len(data) != 2 {
		t.Fatalf("UI API jobs: %d %s", jobs.Status, jobs.Raw)
	}
	if kind, _ := data[0].(map[string]any)["kind"].(string); !strings.Contains(kind, "fetch") {
		t.Fatalf("job kind %v", kind)
	}
	queues := b.do("GET", "/riverui/api/queues", b.keyOp, nil)
	if queues.Status != http.StatusOK || queues.Body["data"] == nil {
		t.Fatalf("UI API queues: %d %s", queues.Status, queues.Raw)
	}

	// The console's session cookie, through the hook.
	op, err := b.app.Store.Authenticate(context.Background(), b.keyOp)
	if err != nil {
		t.Fatal(err)
	}
	b.app.API.Session = func(c *gin.Context) (*store.Principal, error) {
		if ck, err := c.Cookie("hub_session"); err == nil && ck == "good" {
			return op, nil
		}
		return nil, nil
	}
	withCookie := func(v string) int {
		req, _ := http.NewRequest("GET", b.srv.URL+"/riverui/api/queues", nil)
		req.AddCookie(&http.Cookie{Name: "hub_session", Value: v})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := withCookie("good"); st != http.StatusOK {
		t.Fatalf("operator's session: %d", st)
	}
	if st := withCookie("forged"); st != http.StatusUnauthorized {
		t.Fatalf("unknown session: %d", st)
	}
}
