package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// Flow is one planned submission and what became of it.
type Flow struct {
	N    int
	Kind string // Certificates, Referrals or Results
	Org  int    // index into the run's systems

	body  []byte            // the POST /api/v1/documents body, signed before the clock starts
	links []controlDocument // what the provider must hold before the referral is submitted

	// Filled in by the intake.
	DocID    string
	Code     string // error code of a refusal ("" when accepted)
	Latency  time.Duration
	Accepted bool

	// Filled in by the observer: hub-side times from intake to the end point.
	Done      bool
	ToZAGS    time.Duration // certificates
	ToEPGU    time.Duration // certificates
	ToSent    time.Duration // referrals and results: package accepted by the bureau
	ToResult  time.Duration // results: the bureau's result stored, available to the МИС
	DoneAtHub time.Time     // when the end point was reached, by the hub's clock
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

// linkedKinds are the kinds a referral links, in turn.
var linkedKinds = []string{"119", "186", "174", "147", "158"}

// build makes and signs every flow's documents on all cores, before the
// clock starts, so the load measures the hub and not the generator.
// certKinds are the certificate kinds to draw from (76 needs the
// organisation's ОГРН recorded at the hub).
func build(ctx context.Context, flows []*Flow, orgs []semdgen.Org, links int, certKinds []string, seed uint64) error {
	work := make(chan *Flow)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if err := buildOne(f, orgs[f.Org], links, certKinds, seed); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range flows {
		if ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func buildOne(f *Flow, org semdgen.Org, links int, certKinds []string, seed uint64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("loadgen: build flow %d (%s): %v", f.N, f.Kind, p)
		}
	}()
	r := rand.New(rand.NewPCG(seed, uint64(f.N)+1))
	id := fmt.Sprintf("lg-%x-%d", seed&0xffffff, f.N)
	var main semdgen.Doc
	if f.Kind == Certificates {
		kind := certKinds[f.N%len(certKinds)]
		// Unique within a run by construction: ЕГР ЗАГС takes a repeated
		// series and number for a repeat delivery.
		number := map[string]string{"58": fmt.Sprintf("1%08d", f.N), "59": fmt.Sprintf("3%08d", f.N), "76": fmt.Sprintf("1%09d", f.N)}[kind]
		main = semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org, ID: id, Number: number, Rand: r})
	} else {
		patient := semdgen.RandomPerson(r, 77)
		var ls []semdgen.Link
		for i := range links {
			d := semdgen.MustBuild(semdgen.Options{Kind: linkedKinds[(f.N+i)%len(linkedKinds)], Org: org, Patient: &patient, Rand: r,
				ID: fmt.Sprintf("%s-l%d", id, i), Effective: time.Now().Add(-48 * time.Hour)})
			ls = append(ls, semdgen.Link{Kind: d.Kind, ID: d.ID})
			sd := d.Signed()
			cd := controlDocument{Kind: sd.Kind, Root: sd.Root, Extension: sd.Extension, Content: sd.Content}
			for _, sg := range sd.Signatures {
				cd.Signatures = append(cd.Signatures, controlSig{Role: sg.Role, CMS: sg.CMS})
			}
			f.links = append(f.links, cd)
		}
		main = semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Patient: &patient, Links: ls, ID: id, Rand: r})
	}
	f.body, err = json.Marshal(main.Submission())
	return err
}
