package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// remote is a running hub, driven with the МИС keys given and followed
// over its API.
type remote struct {
	r    *run
	base string
}

func newRemote(ctx context.Context, r *run) (*remote, error) {
	rt := &remote{r: r, base: strings.TrimSuffix(r.cfg.URL, "/")}
	// Each key's organisation, from GET /api/v1/me: the documents are
	// authored by it (the door refuses another organisation's documents).
	for i, key := range r.cfg.Keys {
		var me struct {
			Role string `json:"role"`
			OID  string `json:"organization_oid"`
			Name string `json:"organization_name"`
		}
		if err := rt.get(ctx, "/api/v1/me", key, &me); err != nil {
			return nil, fmt.Errorf("loadgen: key %d: %w", i+1, err)
		}
		if me.Role != "mis" || me.OID == "" {
			return nil, fmt.Errorf("loadgen: key %d is not an information system's (role %q)", i+1, me.Role)
		}
		region := 77
		if p := strings.Split(me.OID, "."); len(p) >= 2 {
			if v, err := strconv.Atoi(p[len(p)-2]); err == nil {
				region = v
			}
		}
		org := semdgen.NewOrg(region, 100+i)
		org.OID, org.Name = me.OID, me.Name
		r.orgs, r.keys = append(r.orgs, org), append(r.keys, key)
	}
	return rt, nil
}

func (rt *remote) bases() []string { return []string{rt.base} }

func (rt *remote) how() string {
	return "the hub's timestamps read over the API by the owning МИС: deliveries' delivered_at, the referral's timeline (sent, result_received)"
}

func (rt *remote) get(ctx context.Context, path, key string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := rt.r.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// queues reads each peer's waiting work from the operator's delivery
// dashboard (the ops API has no per-queue River view); without an
// operator key there are none.
func (rt *remote) queues(ctx context.Context) (map[string][2]int, error) {
	if rt.r.cfg.OperatorKey == "" {
		return nil, fmt.Errorf("no operator key")
	}
	var d struct {
		Peers []struct {
			Peer  string `json:"peer"`
			Queue int    `json:"queue"`
		} `json:"peers"`
	}
	if err := rt.get(ctx, "/api/v1/ops/stats/deliveries", rt.r.cfg.OperatorKey, &d); err != nil {
		return nil, err
	}
	out := map[string][2]int{}
	for _, p := range d.Peers {
		out[p.Peer] = [2]int{p.Queue, 0}
	}
	return out, nil
}

// observe asks the API for each pending flow, eight at a time: the
// times are the hub's, so the polling period does not blur the latencies.
func (rt *remote) observe(ctx context.Context, pending []*Flow) error {
	work := make(chan *Flow)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				rt.one(ctx, f)
			}
		}()
	}
	for _, f := range pending {
		work <- f
	}
	close(work)
	wg.Wait()
	return nil
}

func (rt *remote) one(ctx context.Context, f *Flow) {
	key := rt.r.keys[f.Org]
	if f.Kind == Certificates {
		var d struct {
			Items []struct {
				Recipient   string     `json:"recipient"`
				Event       string     `json:"event"`
				State       string     `json:"state"`
				CreatedAt   time.Time  `json:"created_at"`
				DeliveredAt *time.Time `json:"delivered_at"`
			} `json:"items"`
		}
		if rt.get(ctx, "/api/v1/documents/"+f.DocID+"/deliveries", key, &d) != nil {
			return
		}
		var z, e, in time.Time
		for _, it := range d.Items {
			// The certificate's own deliveries: ЕГР ЗАГС's (no event) and
			// ЕПГУ's CERTIFICATE_ISSUED, not a citizen's later notices.
			if (it.Event != "" && it.Event != "CERTIFICATE_ISSUED") || it.State != "delivered" || it.DeliveredAt == nil {
				continue
			}
			in = it.CreatedAt // made in the intake's transaction
			if it.Recipient == "zags" {
				z = *it.DeliveredAt
			} else if it.Recipient == "epgu" {
				e = *it.DeliveredAt
			}
		}
		if !z.IsZero() && !e.IsZero() {
			f.ToZAGS, f.ToEPGU, f.DoneAtHub, f.Done = z.Sub(in), e.Sub(in), later(z, e), true
		}
		return
	}
	var ref struct {
		Timeline struct {
			Received time.Time  `json:"received"`
			Sent     *time.Time `json:"sent"`
			Result   *time.Time `json:"result_received"`
		} `json:"timeline"`
	}
	if rt.get(ctx, "/api/v1/mse/referrals/"+f.DocID, key, &ref) != nil || ref.Timeline.Sent == nil {
		return
	}
	tl := ref.Timeline
	f.ToSent = tl.Sent.Sub(tl.Received)
	switch {
	case f.Kind == Referrals:
		f.DoneAtHub, f.Done = *tl.Sent, true
	case tl.Result != nil:
		f.ToResult, f.DoneAtHub, f.Done = tl.Result.Sub(tl.Received), *tl.Result, true
	}
}
