package console_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/kinds/kindstest"
)

// upload posts the console's upload form as a browser would.
func upload(t *testing.T, c *http.Client, base, origin, kind, note string, zip []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	_ = mw.WriteField("note", note)
	_ = mw.WriteField("activate", "1")
	fw, _ := mw.CreateFormFile("bundle", "bundle.zip")
	_, _ = fw.Write(zip)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", base+"/console/kinds", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res, b.String()
}

// TestConsoleKinds: the "Виды СЭМД" page lists what is in force; an
// operator uploads a bundle through its form (it is in force in this
// process at once, stored as version 1 and audited under the signed-in
// key); a bundle whose sample breaks its own schematron is refused with
// the registry's code and the file at fault, and changes nothing; a
// rollback and an activation through the page's buttons do what the API's
// do; a cross-site POST and an anonymous one change nothing.
func TestConsoleKinds(t *testing.T) {
	h := seeded(t)
	ctx := context.Background()
	c := browserClient(t)
	if res, err := c.PostForm(h.srv.URL+"/console/kinds", url.Values{"kind": {"121"}}); err != nil || res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/console/login") {
		t.Fatalf("anonymous upload: %v %v", res, err)
	}
	if res, err := c.PostForm(h.srv.URL+"/console/login", url.Values{"key": {h.opKey}}); err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", res, err)
	}
	res, page := get(t, c, h.srv.URL+"/console/kinds")
	if res.StatusCode != 200 || !strings.Contains(page, `<tr data-kind="121"><td>121</td><td>исходная</td>`) || !strings.Contains(page, "Загруженных версий нет") {
		t.Fatalf("kinds page before any upload: %d %s", res.StatusCode, page)
	}

	good := kindstest.Bundle("121", kindstest.StrictSchematron("121"), kindstest.Sample("121", kindstest.Prefix+"1", 1))
	if res, _ := upload(t, c, h.srv.URL, "http://evil.example", "121", "", good); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site upload: %d", res.StatusCode)
	}
	if v := h.app.Kinds.Lookup("121").Version; v != 0 {
		t.Fatalf("a refused upload put version %d in force", v)
	}

	bad := kindstest.Bundle("121", kindstest.StrictSchematron("121"), kindstest.Sample("121", "not-"+kindstest.Prefix+"1", 1))
	res, page = upload(t, c, h.srv.URL, h.srv.URL, "121", "", bad)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "KIND_SAMPLE_FAILED") || !strings.Contains(page, "samples/1.xml") ||
		!strings.Contains(page, "Ничего не изменено") {
		t.Fatalf("a bundle failing its own sample: %d %s", res.StatusCode, page)
	}
	var n int
	if err := h.app.Pool.QueryRow(ctx, `SELECT count(*) FROM kind_bundles`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the refused bundle left %d rows (%v)", n, err)
	}

	res, _ = upload(t, c, h.srv.URL, h.srv.URL, "121", "через консоль", good)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/kinds?done=") {
		t.Fatalf("upload: %d %v", res.StatusCode, res.Header)
	}
	if v := h.app.Kinds.Lookup("121").Version; v != 1 {
		t.Fatalf("after the upload version %d is in force, want 1", v)
	}
	_, page = get(t, c, h.srv.URL+res.Header.Get("Location"))
	for _, want := range []string{"Загружена версия 1 вида 121, она действует", `data-kind="121" data-version="1"`, "через консоль", "Дежурный МИАЦ", `class="state-active"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the page after the upload lacks %q: %s", want, page)
		}
	}

	post := func(path string) *http.Response {
		req, _ := http.NewRequest("POST", h.srv.URL+path, nil)
		req.Header.Set("Origin", h.srv.URL)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/console/kinds/121/rollback"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback: %d", res.StatusCode)
	}
	if v := h.app.Kinds.Lookup("121").Version; v != 0 {
		t.Fatalf("after the rollback version %d is in force, want 0", v)
	}
	if res := post("/console/kinds/121/versions/1/activate"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("activate: %d", res.StatusCode)
	}
	if v := h.app.Kinds.Lookup("121").Version; v != 1 {
		t.Fatalf("after the activation version %d is in force, want 1", v)
	}
	if res := post("/console/kinds/121/versions/9/activate"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("activate a version that does not exist: %d", res.StatusCode)
	}

	var actions string
	if err := h.app.Pool.QueryRow(ctx, `SELECT string_agg(a.action || ':' || a.actor || ':' || k.name, ' ' ORDER BY a.id)
		FROM audit_log a JOIN api_keys k ON k.id = a.actor_key_id WHERE a.action LIKE 'kind.%'`).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	if want := "kind.upload:operator:Дежурный МИАЦ kind.rollback:operator:Дежурный МИАЦ kind.activate:operator:Дежурный МИАЦ"; actions != want {
		t.Fatalf("audit %q, want %q", actions, want)
	}
}
