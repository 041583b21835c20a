package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// Design is what a flow is built to become; the checks compare the end
// state with it.
type Design string

// The flow mix.
const (
	// DesignReferral is an MSE referral whose linked documents all sit at
	// the МИС provider: it must be sent once and get exactly one result.
	DesignReferral Design = "referral"
	// DesignReferralMissing is an MSE referral one of whose linked
	// documents the provider does not hold: it must be held incomplete
	// with its reason, and never reach the bureau.
	DesignReferralMissing Design = "referral-missing-link"
	// DesignCertificate is a birth, death or perinatal-death certificate:
	// it must reach ЕГР ЗАГС once and ЕПГУ once.
	DesignCertificate Design = "certificate"
)

// Flow is one planned flow and what happened to its submission.
type Flow struct {
	N       int
	Design  Design
	Kind    string // НСИ 1520 kind of the submitted document
	Org     int    // index into the run's systems
	LocalID string // ClinicalDocument/id/@extension
	Root    string // ClinicalDocument/id/@root

	// Filled in by the submission.
	DocID      string // the hub's document id; "" if never accepted
	Status     int    // last HTTP status of the submission
	LastError  string // last refusal or transport error
	Tries      int    // submission attempts
	AcceptedAt time.Time

	mu sync.Mutex // guards DocID while the run is under way (progress reads it)
}

// docID reads DocID while submissions may still be setting it.
func (f *Flow) docID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.DocID
}

// Accepted reports whether the hub took the document in (201, or 200 for a
// repeat after a lost answer).
func (f *Flow) Accepted() bool { return f.DocID != "" }

// plan draws the flow mix: 40 % referrals (one in ten of them with a
// linked document missing at the provider), 60 % certificates, spread over
// the systems. It is a pure function of the seed.
func plan(n, systems int, seed uint64) []*Flow {
	r := rand.New(rand.NewPCG(seed, 0x50a4))
	flows := make([]*Flow, n)
	for i := range flows {
		f := &Flow{N: i, Org: r.IntN(systems)}
		switch x := r.Float64(); {
		case x < 0.04:
			f.Design, f.Kind = DesignReferralMissing, "121"
		case x < 0.40:
			f.Design, f.Kind = DesignReferral, "121"
		default:
			f.Design, f.Kind = DesignCertificate, []string{"58", "76", "59"}[r.IntN(3)]
		}
		flows[i] = f
	}
	return flows
}

// linkedKinds are the kinds of the documents a referral links.
var linkedKinds = []string{"119", "186", "174", "147", "158"}

// built is a flow's documents, made just before submission so that a large
// soak never holds every document in memory.
type built struct {
	main   semdgen.Doc
	linked []semdgen.Doc // to be placed at the provider
}

// build makes a flow's documents. Each flow draws from its own source, so
// the documents depend only on (seed, N), whatever the concurrency.
// Certificate numbers are unique within a run by construction (ЕГР ЗАГС
// takes a repeated series and number for a repeat delivery).
func build(f *Flow, org semdgen.Org, seed uint64) built {
	r := rand.New(rand.NewPCG(seed, uint64(f.N)+1))
	id := fmt.Sprintf("soak-%x-%d", seed&0xffffff, f.N)
	switch f.Design {
	case DesignCertificate:
		number := map[string]string{"58": fmt.Sprintf("1%08d", f.N), "59": fmt.Sprintf("3%08d", f.N), "76": fmt.Sprintf("1%09d", f.N)}[f.Kind]
		d := semdgen.MustBuild(semdgen.Options{Kind: f.Kind, Org: org, ID: id, Number: number, Rand: r})
		return built{main: d}
	default:
		patient := semdgen.RandomPerson(r, 77)
		var b built
		var links []semdgen.Link
		for i := 0; i < 2+r.IntN(2); i++ {
			d := semdgen.MustBuild(semdgen.Options{Kind: linkedKinds[(f.N+i)%len(linkedKinds)], Org: org, Patient: &patient, Rand: r,
				ID: fmt.Sprintf("%s-l%d", id, i), Effective: time.Now().Add(-48 * time.Hour)})
			links = append(links, semdgen.Link{Kind: d.Kind, ID: d.ID})
			b.linked = append(b.linked, d)
		}
		if f.Design == DesignReferralMissing {
			b.linked = b.linked[1:] // the provider never gets the first one
		}
		b.main = semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Patient: &patient, Links: links, ID: id, Rand: r})
		return b
	}
}

// controlDocument is the provider simulator's POST /control/documents item.
type controlDocument struct {
	Kind       string       `json:"kind"`
	Root       string       `json:"root"`
	Extension  string       `json:"extension"`
	Content    []byte       `json:"content"`
	Signatures []controlSig `json:"signatures"`
}

type controlSig struct {
	Role string `json:"role"`
	CMS  []byte `json:"cms"`
}

// submitter pushes flows into the hub over its API, retrying what the
// chaos interrupts: a transport error (the API process was killed), a 5xx
// (the database restarting) or a 429. A repeat of a document whose first
// answer was lost is answered 200 with the same id, so retrying is safe.
type submitter struct {
	client      *http.Client
	apiBase     func() string
	providerURL string // the provider simulator's base URL
	keys        []string
	orgs        []semdgen.Org
	seed        uint64
	giveUpAfter time.Duration

	mu        sync.Mutex
	submitted int // flows whose submission finished (accepted or given up)
	accepted  int
}

func (s *submitter) counts() (submitted, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submitted, s.accepted
}

// run submits every flow at rate per second with at most conc in flight.
func (s *submitter) run(ctx context.Context, flows []*Flow, rate float64, conc int) {
	work := make(chan *Flow)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				s.one(ctx, f)
			}
		}()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
feed:
	for _, f := range flows {
		select {
		case <-ctx.Done():
			break feed
		case <-tick.C:
		}
		select {
		case <-ctx.Done():
			break feed
		case work <- f:
		}
	}
	close(work)
	wg.Wait()
}

func (s *submitter) one(ctx context.Context, f *Flow) {
	defer func() {
		s.mu.Lock()
		s.submitted++
		if f.Accepted() {
			s.accepted++
		}
		s.mu.Unlock()
	}()
	b := build(f, s.orgs[f.Org], s.seed)
	f.LocalID, f.Root = b.main.ID, b.main.Root
	deadline := time.Now().Add(s.giveUpAfter)
	if len(b.linked) > 0 {
		var docs []controlDocument
		for _, d := range b.linked {
			sd := d.Signed()
			cd := controlDocument{Kind: sd.Kind, Root: sd.Root, Extension: sd.Extension, Content: sd.Content}
			for _, sg := range sd.Signatures {
				cd.Signatures = append(cd.Signatures, controlSig{Role: sg.Role, CMS: sg.CMS})
			}
			docs = append(docs, cd)
		}
		if err := s.retry(ctx, deadline, func() (bool, error) {
			st, body, err := s.post(ctx, s.providerURL+"/control/documents", "", docs)
			if err != nil {
				return false, err
			}
			if st != http.StatusOK {
				return false, fmt.Errorf("provider control: HTTP %d %s", st, body)
			}
			return true, nil
		}); err != nil {
			f.LastError = "linked documents not placed at the provider: " + err.Error()
			return
		}
	}
	sub := b.main.Submission()
	_ = s.retry(ctx, deadline, func() (bool, error) {
		f.Tries++
		st, body, err := s.post(ctx, s.apiBase()+"/api/v1/documents", s.keys[f.Org], sub)
		f.Status = st
		if err != nil {
			f.LastError = err.Error()
			return false, err
		}
		if st == http.StatusCreated || st == http.StatusOK {
			var out struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
				f.LastError = fmt.Sprintf("HTTP %d without an id: %.200s", st, body)
				return false, fmt.Errorf("%s", f.LastError)
			}
			f.mu.Lock()
			f.DocID, f.AcceptedAt, f.LastError = out.ID, time.Now(), ""
			f.mu.Unlock()
			return true, nil
		}
		f.LastError = fmt.Sprintf("HTTP %d: %.300s", st, body)
		if st >= 500 || st == http.StatusTooManyRequests {
			return false, fmt.Errorf("%s", f.LastError)
		}
		return true, nil // refused for good: the checks report it
	})
}

// retry calls try until it reports done or the deadline passes, backing
// off from 100 ms to 2 s.
func (s *submitter) retry(ctx context.Context, deadline time.Time, try func() (done bool, err error)) error {
	wait := 100 * time.Millisecond
	for {
		done, err := try()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if wait *= 2; wait > 2*time.Second {
			wait = 2 * time.Second
		}
	}
}

func (s *submitter) post(ctx context.Context, url, key string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, body, err
}
