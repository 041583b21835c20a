package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// BenchmarkIntake measures documents taken in per second: generated СЭМД of
// the common kinds, submitted over real HTTP to the API, parsed, checked and
// stored in the real database (both GOST signatures verified: the
// organisation's keys are known after the first documents), from 8
// concurrent clients. Document generation and signing happen before the
// timer starts.
//
//	go test ./internal/api -run XXX -bench Intake -benchtime 2000x
func BenchmarkIntake(b *testing.B) {
	bu := setup(b, 0)
	bu.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	kinds := []string{"119", "186", "174", "147", "58", "76", "121"}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		o := semdgen.Options{Kind: kinds[i%len(kinds)]}
		if o.Kind == "121" {
			o.Links = []semdgen.Link{{Kind: "119", ID: "a"}, {Kind: "186", ID: "b"}, {Kind: "174", ID: "c"}, {Kind: "147", ID: "d"}, {Kind: "158", ID: "e"}}
		}
		j, err := json.Marshal(bu.build(o).Submission())
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = j
	}
	elapsed := submitAll(b, bu, bodies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(len(bodies[0])), "bytes/doc")
}

// submitAll posts bodies as МИС A from 4 × GOMAXPROCS parallel clients,
// one body per benchmark op, timing only the posting, and fails the
// benchmark on any answer but 201.
func submitAll(b *testing.B, bu *bundle, bodies [][]byte) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next, failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			req, _ := http.NewRequest("POST", bu.srv.URL+"/api/v1/documents", bytes.NewReader(bodies[i]))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bu.keyA)
			res, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d submissions failed", n, b.N)
	}
	return elapsed
}
