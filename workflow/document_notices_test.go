package workflow_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/workflow"
)

// TestNewDocumentsAnnouncedOncePerCitizenPerDay: with
// HUB_EPGU_DOCUMENT_NOTICES=on, a citizen's documents of one day become one
// ЕПГУ notice (NEW_MEDICAL_DOCUMENTS: kind, organisation, date — never
// content) once the day is over; ЕПГУ down at first, the notices are
// retried until it is back; a citizen without a portal account is recorded
// as not notifiable; a second sweep sends nothing again.
func TestNewDocumentsAnnouncedOncePerCitizenPerDay(t *testing.T) {
	var mu sync.Mutex
	var notices []string
	e := newEnvWith(t, map[string]string{"HUB_EPGU_DOCUMENT_NOTICES": "on"}, func(peer string, h http.Handler) http.Handler {
		if peer != "epgu" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if bytes.Contains(b, []byte("NEW_MEDICAL_DOCUMENTS")) {
				mu.Lock()
				notices = append(notices, string(b))
				mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	p, q, r := semdgen.RandomPerson(e.rand, 77), semdgen.RandomPerson(e.rand, 77), semdgen.RandomPerson(e.rand, 77)
	e.sims.Portal.SetNoAccount(r.SNILS)
	var docs []semdgen.Doc
	for _, person := range []*semdgen.Person{&p, &p, &q, &r} {
		d := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: e.orgA, Patient: person, Rand: e.rand})
		if st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission()); st != 201 {
			t.Fatalf("submit: %d %v", st, body)
		}
		docs = append(docs, d)
	}
	sweep := func() {
		if _, err := e.app.Engine.River.Insert(ctx, workflow.DocumentNoticesArgs{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	sweep() // today's batches stay open
	time.Sleep(300 * time.Millisecond)
	var n int
	_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event = 'NEW_MEDICAL_DOCUMENTS'`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d notices made before the day was over", n)
	}

	// The next day, ЕПГУ down at first.
	e.app.Engine.Clock.Stub(func() time.Time { return time.Now().Add(24 * time.Hour) })
	now := time.Now()
	e.sims.Portal.SetFaults(map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: now, End: now.Add(1200 * time.Millisecond)}}}})
	sweep()
	states := func() map[string]int {
		out := map[string]int{}
		rows, err := e.app.Pool.Query(ctx, `SELECT state FROM deliveries WHERE event = 'NEW_MEDICAL_DOCUMENTS'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out[s]++
		}
		return out
	}
	e.waitFor("the notices", func() bool { s := states(); return s["delivered"] == 2 && s["not_notifiable"] == 1 })
	c := e.sims.Portal.Counters()["SendNotification"]
	if c.Unique != 2 || c.Duplicates != 0 || c.Faults["outage"] == 0 {
		t.Fatalf("portal counters: %+v", c)
	}
	sweep()
	time.Sleep(300 * time.Millisecond)
	if s := states(); len(s) != 2 || s["delivered"] != 2 || s["not_notifiable"] != 1 {
		t.Fatalf("after a second sweep: %v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	var forP string
	for _, b := range notices {
		if strings.Contains(b, p.SNILS) {
			forP = b
		}
		for _, d := range docs {
			if strings.Contains(b, d.Patient.Family) {
				t.Fatalf("a notice carries document content (the patient's name): %s", b)
			}
		}
	}
	if !strings.Contains(forP, "Новые медицинские документы: 2") || strings.Count(forP, "вид 119; "+e.orgA.Name) != 2 {
		t.Fatalf("notice of the citizen with two documents: %s", forP)
	}
}

// TestNewDocumentNoticesOffByDefault: without HUB_EPGU_DOCUMENT_NOTICES no
// document waits for a notice.
func TestNewDocumentNoticesOffByDefault(t *testing.T) {
	e := newEnv(t, nil)
	d := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: e.orgA, Rand: e.rand})
	if st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission()); st != 201 {
		t.Fatalf("submit: %d %v", st, body)
	}
	var n int
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM epgu_document_notices`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d documents wait for a notice (%v)", n, err)
	}
}
