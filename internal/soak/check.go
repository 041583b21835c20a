package soak

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emdhub/hub/internal/sim"
)

// Observed is everything the checks look at once the run has drained:
// what the database holds for each flow, what the peers counted, and what
// the МИС saw over the API.
type Observed struct {
	// Documents: the hub's document id → "root^extension" as stored.
	Documents map[string]string
	// Referrals by document id.
	Referrals map[string]ReferralObs
	// Deliveries by document id, then recipient (zags, epgu).
	Deliveries map[string]map[string]DeliveryObs
	// Counters: peer → operation → counters, from GET /control/counters.
	Counters map[string]map[string]sim.Counters
	// ResultAccess by document id of referrals that have a result: the
	// HTTP status of GET …/result for the owner and for another МИС.
	ResultAccess map[string]Access
	// UnexpectedExits of hub processes and the simulators (not killed by the soak).
	UnexpectedExits []string
	// Calls summarises the exchange log per peer and operation.
	Calls []CallStats
	// EPGUEvents: the citizens' ЕПГУ event deliveries (MSE events), and how
	// many of them are delivered; each is sent under one message id.
	EPGUEvents, EPGUEventsDelivered int
}

// ReferralObs is one referral as stored.
type ReferralObs struct {
	ID, State, LastError, ReturnReason string
	Results                            int      // mse_results rows linked to it
	ResultTypes                        []string // their types
	SendMessageIDs                     int      // distinct message ids of its SendReferral attempts
}

// DeliveryObs is one certificate delivery as stored.
type DeliveryObs struct {
	State, LastError string
	Duplicate        bool // the peer said it already had this certificate under another message id
}

// Access is what two МИС got asking for a referral's result.
type Access struct{ Owner, Other int }

// Check is one invariant's verdict.
type Check struct {
	Name      string
	OK        bool
	Detail    string
	Offenders []string // flows (or processes) that break it
}

// Terminal and held states. A held flow must carry its reason.
var (
	referralTerminal = map[string]bool{"result_received": true, "returned": true}
	referralHeld     = map[string]bool{"incomplete": true, "failed": true, "blocked_certificate": true, "superseded": true}
	deliveryTerminal = map[string]bool{"delivered": true}
	deliveryHeld     = map[string]bool{"failed": true, "blocked_certificate": true, "superseded": true}
)

func flowName(f *Flow) string {
	id := f.DocID
	if id == "" {
		id = "not accepted"
	}
	return fmt.Sprintf("#%d %s %s (%s)", f.N, f.Design, f.LocalID, id)
}

// check runs every invariant over the planned flows and what was observed.
// It is a pure function, so each invariant is tested on its own against
// observations that break it.
func check(flows []*Flow, o *Observed) []Check {
	var out []Check
	add := func(name string, offenders []string, detail string) {
		sort.Strings(offenders)
		out = append(out, Check{Name: name, OK: len(offenders) == 0, Detail: detail, Offenders: offenders})
	}
	var accepted, certs, referrals, missing int
	var notAccepted, notStored, noFlow, notSettled, notAsDesigned, dupZAGS, manyIDs, manyResults, badAccess []string
	for _, f := range flows {
		if !f.Accepted() {
			notAccepted = append(notAccepted, fmt.Sprintf("%s: %d tries, last %s", flowName(f), f.Tries, f.LastError))
			continue
		}
		accepted++
		// What the peers must have seen is counted over accepted flows,
		// stored or not: a lost flow also fails the check below.
		switch f.Design {
		case DesignCertificate:
			certs++
		case DesignReferralMissing:
			referrals++
			missing++
		default:
			referrals++
		}
		name := flowName(f)
		if got, ok := o.Documents[f.DocID]; !ok {
			notStored = append(notStored, name)
			continue
		} else if want := f.Root + "^" + f.LocalID; got != want {
			notStored = append(notStored, fmt.Sprintf("%s: stored as %s, submitted %s", name, got, want))
			continue
		}
		switch f.Design {
		case DesignCertificate:
			ds := o.Deliveries[f.DocID]
			if len(ds) != 2 || ds["zags"] == (DeliveryObs{}) || ds["epgu"] == (DeliveryObs{}) {
				noFlow = append(noFlow, fmt.Sprintf("%s: %d deliveries", name, len(ds)))
				continue
			}
			var states []string
			for _, rcp := range []string{"zags", "epgu"} {
				d := ds[rcp]
				states = append(states, rcp+" "+d.State)
				if !deliveryTerminal[d.State] && !(deliveryHeld[d.State] && d.LastError != "") {
					notSettled = append(notSettled, fmt.Sprintf("%s: %s %s %s", name, rcp, d.State, d.LastError))
				}
			}
			if ds["zags"].State != "delivered" || ds["epgu"].State != "delivered" {
				notAsDesigned = append(notAsDesigned, fmt.Sprintf("%s: %s (want both delivered); %s", name, strings.Join(states, ", "),
					strings.TrimSpace(ds["zags"].LastError+" "+ds["epgu"].LastError)))
			}
			if ds["zags"].Duplicate {
				dupZAGS = append(dupZAGS, name)
			}
		default:
			r, ok := o.Referrals[f.DocID]
			if !ok {
				noFlow = append(noFlow, name+": no referral")
				continue
			}
			reason := r.LastError
			if reason == "" {
				reason = r.ReturnReason
			}
			switch {
			case referralTerminal[r.State] || (referralHeld[r.State] && reason != ""):
			case r.Results > 0:
				notSettled = append(notSettled, fmt.Sprintf("%s: state %s although its result is stored (a later step overwrote it) %s", name, r.State, reason))
			default:
				notSettled = append(notSettled, fmt.Sprintf("%s: state %s %s", name, r.State, reason))
			}
			want := "result_received"
			if f.Design == DesignReferralMissing {
				want = "incomplete"
			}
			if r.State != want || (want == "result_received" && (r.Results != 1 || r.ResultTypes[0] != "RESULT")) || (want == "incomplete" && r.Results != 0) {
				notAsDesigned = append(notAsDesigned, fmt.Sprintf("%s: %s with %d result(s) %v, want %s; %s", name, r.State, r.Results, r.ResultTypes, want, reason))
			}
			if r.SendMessageIDs > 1 {
				manyIDs = append(manyIDs, fmt.Sprintf("%s: sent under %d message ids", name, r.SendMessageIDs))
			}
			if r.Results > 1 {
				manyResults = append(manyResults, fmt.Sprintf("%s: %d results (%v)", name, r.Results, r.ResultTypes))
			}
			if r.Results > 0 {
				a, ok := o.ResultAccess[f.DocID]
				if !ok || a.Owner != 200 || a.Other != 404 {
					badAccess = append(badAccess, fmt.Sprintf("%s: owner HTTP %d, other МИС HTTP %d", name, a.Owner, a.Other))
				}
			}
		}
	}
	add("every submission accepted by the API", notAccepted, fmt.Sprintf("%d/%d", accepted, len(flows)))
	add("0 flows lost: every accepted document stored", notStored, fmt.Sprintf("%d/%d", accepted-len(notStored), accepted))
	add("0 flows lost: every stored document has its flow", noFlow, fmt.Sprintf("%d referrals, %d certificates", referrals, certs))
	add("every flow terminal or held for a stated reason", notSettled, fmt.Sprintf("%d not settled", len(notSettled)))
	add("every flow ended as designed (no permanent faults injected)", notAsDesigned,
		fmt.Sprintf("%d results, %d held incomplete, %d×2 deliveries expected", referrals-missing, missing, certs))

	peer := func(p, op string) sim.Counters { return o.Counters[p][op] }
	var dup []string
	z, e, m := peer("zags", "SubmitMedicalCertificate"), peer("epgu", "SendNotification"), peer("mse", "SendReferral")
	if z.Unique != certs {
		dup = append(dup, fmt.Sprintf("ЕГР ЗАГС registered %d certificates, %d were submitted", z.Unique, certs))
	}
	dup = append(dup, prefixed("ЕГР ЗАГС took it again under another message id: ", dupZAGS)...)
	// One per certificate and one per citizen's event delivered, at most one
	// per event delivery (one still under way may or may not have got through).
	if e.Unique < certs+o.EPGUEventsDelivered || e.Unique > certs+o.EPGUEvents {
		dup = append(dup, fmt.Sprintf("ЕПГУ sent %d notifications, %d–%d expected (one per certificate and per citizen's event)", e.Unique,
			certs+o.EPGUEventsDelivered, certs+o.EPGUEvents))
	}
	if m.Unique != referrals-missing {
		dup = append(dup, fmt.Sprintf("the bureau opened %d cases, %d complete referrals were submitted", m.Unique, referrals-missing))
	}
	dup = append(dup, manyIDs...)
	dup = append(dup, manyResults...)
	add("0 duplicate deliveries (peers' unique counts = flows; one message id per flow)", dup,
		fmt.Sprintf("ЗАГС %d/%d, ЕПГУ %d/%d, bureau %d/%d (repeats recognised: %d, %d, %d)", z.Unique, certs, e.Unique, certs,
			m.Unique, referrals-missing, z.Duplicates, e.Duplicates, m.Duplicates))
	add("every result visible to its МИС (200) and to no other (404)", badAccess, fmt.Sprintf("%d results checked", len(o.ResultAccess)))
	add("no process exited unless killed by the soak", append([]string(nil), o.UnexpectedExits...), "")
	var unbounded []string
	var calls, killed int
	for _, c := range o.Calls {
		calls += c.Calls
		killed += c.Killed
		if c.OverLimit > 0 {
			unbounded = append(unbounded, fmt.Sprintf("%s %s: %d call(s) over %s, longest %.1fs", c.Peer, c.Operation, c.OverLimit,
				soapTimeout+time.Second, float64(c.MaxMillis)/1000))
		}
	}
	add("every call bounded by HUB_SOAP_TIMEOUT and on record", unbounded,
		fmt.Sprintf("%d calls logged, %d of them cut by a kill or the database crash (settled as killed)", calls, killed))
	return out
}

func prefixed(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

// printChecks writes the verdict table, with up to maxList offenders per
// failed check.
func printChecks(w io.Writer, checks []Check, maxList int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHECK\tRESULT\tDETAIL")
	for _, c := range checks {
		res := "ok"
		if !c.OK {
			res = fmt.Sprintf("FAIL (%d)", len(c.Offenders))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, res, c.Detail)
	}
	_ = tw.Flush()
	for _, c := range checks {
		if c.OK {
			continue
		}
		fmt.Fprintf(w, "\n  ✗ %s — %d:\n", c.Name, len(c.Offenders))
		for i, x := range c.Offenders {
			if i == maxList {
				fmt.Fprintf(w, "    … and %d more\n", len(c.Offenders)-i)
				break
			}
			fmt.Fprintf(w, "    %s\n", x)
		}
	}
}
