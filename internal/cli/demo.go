package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
)

// runDemo runs the hub's main job end to end on one machine: a private
// PostgreSQL (unless DATABASE_URL is set), the five simulated peers on
// loopback ports, the hub (API and workers), and real flows pushed through
// over HTTP — MSE referrals whose linked documents sit at a МИС provider
// (one of them missing, one flaky), certificates to ЕГР ЗАГС and ЕПГУ (with
// an ЕПГУ outage), and documents refused at the door with their codes. It
// prints each flow's progress as it happens and ends with summary tables.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed for the generated documents")
	wait := fs.Duration("timeout", 2*time.Minute, "give up waiting for the flows after this long")
	stay := fs.Bool("stay", false, "after the flows, keep the hub, its database and the peers running for a look around (console, River UI, /metrics) until Ctrl-C")
	addr := fs.String("addr", "127.0.0.1:0", "the hub's listen address (loopback; 127.0.0.1:8080 gives a URL to keep)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	started := time.Now()
	elapsed := func() string { return fmt.Sprintf("%5.1fs", time.Since(started).Seconds()) }

	// Peers.
	sims := sim.NewSet()
	sims.Bureau.ResultDelay = time.Second
	urls := map[string]string{}
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	for _, name := range sims.Names() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: sims.Handlers()[name], ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(l) }()
		urls[name] = "http://" + l.Addr().String() + "/soap"
	}

	env := map[string]string{
		"HUB_MSE_URL": urls["mse"], "HUB_ZAGS_URL": urls["zags"], "HUB_EPGU_URL": urls["epgu"], "HUB_PROVIDER_URL": urls["provider"],
		"HUB_POLICY_URL": urls["policy"], "HUB_LOG_LEVEL": "error", "HUB_LOG_FORMAT": "text", "HUB_SOAP_TIMEOUT": "5s",
		"HUB_RETRY_BASE": "300ms", "HUB_RETRY_MAX": "2s", "HUB_RESULTS_POLL_INTERVAL": "500ms", "HUB_STATUS_POLL_INTERVAL": "700ms",
		"HUB_BREAKER_COOLDOWN": "1s",
	}
	caDir, err := os.MkdirTemp("", "hub-demo-ca-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(caDir)
	if err := semdgen.WriteTestCA(caDir); err != nil {
		return err
	}
	env["HUB_TRUSTED_CA_DIR"] = caDir // the demo's documents are signed under the fixture CA
	for k, v := range demoCallbackEnv {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string {
		if v := getenv(k); v != "" && (k == "DATABASE_URL" || k == "HUB_LOG_LEVEL") {
			return v
		}
		return env[k]
	})
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		say("▸ DATABASE_URL is unset: starting a private PostgreSQL from %s …", pgcluster.DefaultBinDir)
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Database: "hub_demo"})
		if err != nil {
			return err
		}
		defer cl.Stop()
		cfg.DatabaseURL = cl.URL
		say("  PostgreSQL up on 127.0.0.1:%d (%s)", cl.Port, elapsed())
	} else {
		say("▸ using DATABASE_URL")
	}
	say("▸ simulated peers: MSE bureau %s, ЕГР ЗАГС %s, ЕПГУ %s, МИС provider %s", urls["mse"], urls["zags"], urls["epgu"], urls["provider"])
	cfg.MigrateOnStart = true
	a, err := app.New(ctx, cfg, cfg.Logger())
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s (-addr): %w", *addr, err)
	}
	sctx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(sctx, l) }()
	stopped := false
	defer func() { // stop workers before the pool closes, on every path
		if !stopped {
			stopServer()
			<-served
		}
	}()
	base := "http://" + l.Addr().String()
	say("▸ hub (API + workers on River) at %s, migrations applied", base)

	r := rand.New(rand.NewPCG(*seed, 1))
	city := semdgen.NewOrg(77, 100+r.IntN(800))
	city.Name = "ГБУЗ «ГКБ № 52 ДЗМ»"
	other := semdgen.NewOrg(16, 100+r.IntN(800))
	other.Name = "ГАУЗ «РКБ» МЗ РТ"
	regA, err := a.Store.RegisterSystem(ctx, city.OID, city.Name, "МИС ЕМИАС")
	if err != nil {
		return err
	}
	regB, err := a.Store.RegisterSystem(ctx, other.OID, other.Name, "МИС РТ")
	if err != nil {
		return err
	}
	// With their ОГРН, as an operator registers them (-org-ogrn): a birth
	// certificate (76) carries its organisation's ОГРН nowhere its official
	// XSD allows, so the organisation's signature is matched against the record.
	for _, o := range []semdgen.Org{city, other} {
		if _, err := a.Store.RecordOrganizationOGRN(ctx, o.OID, o.OGRN); err != nil {
			return err
		}
	}
	say("▸ information systems: %s (%s), %s (%s); keys stored hashed", regA.System.Name, city.OID, regB.System.Name, other.OID)

	client := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path, key string, body any) (int, map[string]any) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		out := map[string]any{}
		res, err := client.Do(req)
		if err != nil {
			return 0, map[string]any{"code": "TRANSPORT", "message": err.Error()}
		}
		defer res.Body.Close()
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	receiver, err := startDemoReceiver(call, regA.APIKey, regB.APIKey)
	if err != nil {
		return err
	}
	defer receiver.srv.Close()
	say("▸ %s takes notifications on a loopback callback (signed; the operator allows 127.0.0.0/8)", regA.System.Name)

	// The flows.
	type flow struct{ name, docID string }
	var flows []flow
	var refusals [][3]string
	submit := func(name string, d semdgen.Doc) string {
		st, out := call("POST", "/api/v1/documents", regA.APIKey, d.Submission())
		if st >= 300 {
			refusals = append(refusals, [3]string{name, fmt.Sprint(st), fmt.Sprintf("%v: %s", out["code"], shorten(fmt.Sprint(out["message"]), 80))})
			say("  %s %-42s → %d %v", elapsed(), name, st, out["code"])
			return ""
		}
		say("  %s %-42s → %d accepted", elapsed(), name, st)
		return fmt.Sprint(out["id"])
	}
	linked := func(n int, patient *semdgen.Person) ([]semdgen.Link, []semdgen.Doc) {
		kinds := []string{"119", "186", "174", "147", "158"}
		var links []semdgen.Link
		var docs []semdgen.Doc
		for i := 0; i < n; i++ {
			d := semdgen.MustBuild(semdgen.Options{Kind: kinds[i%len(kinds)], Org: city, Patient: patient, Rand: r, Effective: time.Now().Add(-72 * time.Hour)})
			links = append(links, semdgen.Link{Kind: d.Kind, ID: d.ID})
			docs = append(docs, d)
		}
		return links, docs
	}
	say("▸ the МИС provider holds the linked documents; the hub fetches them. Submitting over HTTP:")
	// A: five linked documents at the provider, one of them failing twice first.
	pa := semdgen.RandomPerson(r, 77)
	la, da := linked(5, &pa)
	for i, d := range da {
		fail := 0
		if i == 1 {
			fail = 2
		}
		sims.Provider.Add(fail, d.Signed())
	}
	flows = append(flows, flow{"referral A: 5 linked (1 flaky)", submit("MSE referral A (5 LINKDOCS)", semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Patient: &pa, Links: la, Rand: r}))})
	// B: three linked documents, one the provider does not have.
	pb := semdgen.RandomPerson(r, 77)
	lb, db := linked(3, &pb)
	for _, d := range db[:2] {
		sims.Provider.Add(0, d.Signed())
	}
	flows = append(flows, flow{"referral B: 3 linked (1 missing)", submit("MSE referral B (one linked doc missing)", semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Patient: &pb, Links: lb, Rand: r}))})
	// C: linked documents the МИС submitted to the hub itself: nothing to fetch.
	pc := semdgen.RandomPerson(r, 77)
	lc, dc := linked(2, &pc)
	for _, d := range dc {
		submit("  linked document for C (submitted)", d)
	}
	flows = append(flows, flow{"referral C: 2 linked (held)", submit("MSE referral C (linked docs already held)", semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Patient: &pc, Links: lc, Rand: r}))})
	// Certificates, with ЕПГУ down for the first six seconds.
	now := time.Now()
	sims.Portal.SetFaults(map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: now, End: now.Add(6 * time.Second)}}}})
	// Death certificate 2 is signed by a doctor whose certificate expires in
	// 20 days: it shows in the expiring-certificates list at the end.
	soon, err := semdgen.IssueSigners(city, semdgen.RandomPerson(r, 77), now.AddDate(-1, 0, 0), now.AddDate(0, 0, 20))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		kind, name string
		signers    *semdgen.Signers
	}{{"58", "death certificate 1", nil}, {"76", "birth certificate", nil}, {"59", "perinatal death certificate", nil}, {"58", "death certificate 2", &soon}} {
		flows = append(flows, flow{c.name, submit(c.name, semdgen.MustBuild(semdgen.Options{Kind: c.kind, Org: city, Rand: r, Signers: c.signers}))})
	}
	// A certificate signed by a doctor whose certificate runs out in five
	// seconds: ЕГР ЗАГС gets it at once; ЕПГУ is down until after the
	// expiry, so the retry meets the certificate gate and nothing is sent.
	shortLived, err := semdgen.IssueSigners(city, semdgen.RandomPerson(r, 77), now.AddDate(0, 0, -30), now.Add(5*time.Second))
	if err != nil {
		return err
	}
	expiring := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, Rand: r, Signers: &shortLived, SetID: fmt.Sprintf("demo-expiring-%d", r.IntN(1e9)),
		Effective: now.Add(-time.Minute).Truncate(time.Minute)})
	flows = append(flows, flow{"death certificate 3 (expiring)", submit("death certificate 3 (signer's certificate expires in 5 s)", expiring)})
	tampered := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: city, Rand: r, Defects: []semdgen.Defect{semdgen.DefectTamperedSig}})
	submit("consultation with a tampered signature", tampered)
	old, err := semdgen.IssueSigners(city, semdgen.RandomPerson(r, 77), now.AddDate(-3, 0, 0), now.AddDate(0, 0, -10))
	if err != nil {
		return err
	}
	submit("consultation signed with an expired certificate", semdgen.MustBuild(semdgen.Options{Kind: "119", Org: city, Rand: r, Signers: &old, Effective: now.AddDate(0, 0, -20).Truncate(time.Minute)}))
	// The test CA revokes one doctor's certificate and publishes a CRL; the
	// hub reads it as it rereads HUB_CRL_DIR.
	revokedSigners, err := semdgen.IssueSigners(city, semdgen.RandomPerson(r, 77), now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	crl, err := semdgen.TestCRL(revokedSigners.Doctor.Cert)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(caDir, "emdhub-test-ca.crl"), crl, 0o644); err != nil {
		return err
	}
	if _, err := a.Intake.Signatures.Verifier.LoadCRLs(caDir); err != nil {
		return err
	}
	submit("consultation signed with a revoked certificate", semdgen.MustBuild(semdgen.Options{Kind: "119", Org: city, Rand: r, Signers: &revokedSigners}))
	// Refused at the door.
	submit("referral with a mistyped СНИЛС", semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Rand: r, Defects: []semdgen.Defect{semdgen.DefectBadSNILS}}))
	submit("death certificate without series/number", semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, Rand: r, Defects: []semdgen.Defect{semdgen.DefectNoSeries}}))
	submit("another hospital's document", semdgen.MustBuild(semdgen.Options{Kind: "119", Org: other, Rand: r}))
	broken := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: city, Rand: r})
	broken.XML = broken.XML[:len(broken.XML)/2]
	submit("malformed XML", broken)

	say("▸ progress (as it happens):")
	last := map[string]string{}
	finished := func() bool {
		done := true
		for _, f := range flows {
			if f.docID == "" {
				continue
			}
			state := flowState(call, regA.APIKey, f.docID)
			if state != last[f.name] {
				say("  %s %-34s %s", elapsed(), f.name, state)
				last[f.name] = state
			}
			if !strings.HasPrefix(state, "result_received") && !strings.HasPrefix(state, "incomplete") && strings.Count(state, " delivered")+strings.Count(state, " blocked_certificate")+strings.Count(state, " superseded") != 2 {
				done = false
			}
		}
		return done
	}
	deadline := time.Now().Add(*wait)
	for !finished() {
		if time.Now().After(deadline) {
			return errors.New("the flows did not finish in time; see the states above")
		}
		time.Sleep(150 * time.Millisecond)
	}
	for sims.Bureau.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// The blocked certificate resumes only as a newly signed version.
	if strings.Contains(last["death certificate 3 (expiring)"], "blocked_certificate") {
		say("▸ the МИС re-signs death certificate 3 with a valid certificate and submits version 2:")
		v2 := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, Rand: r, SetID: expiring.SetID, Version: 2, Series: expiring.Series,
			Number: expiring.Number, Patient: &expiring.Patient})
		flows = append(flows, flow{"death certificate 3, version 2", submit("death certificate 3, version 2", v2)})
		for !finished() {
			if time.Now().After(deadline) {
				return errors.New("version 2 was not delivered in time; see the states above")
			}
			time.Sleep(150 * time.Millisecond)
		}
	}

	// The referring МИС reads its result; the other МИС cannot.
	var isolation string
	if st, res := call("GET", "/api/v1/mse/referrals/"+flows[0].docID+"/result", regA.APIKey, nil); st == 200 {
		isolation = fmt.Sprintf("%s read the result (%v, kind %v); ", regA.System.Name, res["type"], res["kind"])
	}
	st, _ := call("GET", "/api/v1/mse/referrals/"+flows[0].docID+"/result", regB.APIKey, nil)
	isolation += fmt.Sprintf("%s asking for it → HTTP %d", regB.System.Name, st)

	say("\n▸ flows:")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FLOW\tFINAL STATE")
	for _, f := range flows {
		fmt.Fprintf(tw, "  %s\t%s\n", f.name, last[f.name])
	}
	_ = tw.Flush()
	say("\n▸ refused at the door (nothing stored):")
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, x := range refusals {
		fmt.Fprintf(tw, "  %s\tHTTP %s\t%s\n", x[0], x[1], x[2])
	}
	_ = tw.Flush()

	// ЕПГУ notices of MSE events, under their contract names.
	var named [][2]string
	for _, f := range flows {
		named = append(named, [2]string{f.name, f.docID})
	}
	citizenEvents(stdout, call, regA.APIKey, named, deadline)
	enrichmentLookup(stdout, call, regA.APIKey, strings.TrimSuffix(urls["policy"], "/soap"), pa)

	var sent, incomplete, results, delivered, retries int
	q := func(sql string, dst *int) { _ = a.Pool.QueryRow(ctx, sql).Scan(dst) }
	q(`SELECT count(*) FROM mse_referrals WHERE sent_at IS NOT NULL`, &sent)
	q(`SELECT count(*) FROM mse_referrals WHERE state = 'incomplete'`, &incomplete)
	q(`SELECT count(*) FROM mse_results`, &results)
	q(`SELECT count(*) FROM deliveries WHERE state = 'delivered' AND event = ''`, &delivered)
	q(`SELECT count(*) FROM exchange_log WHERE outcome NOT IN ('ok', 'duplicate', 'unmatched', 'invalid')`, &retries)
	say("\n▸ summary: %d referrals sent, %d held incomplete (not sent), %d results received; %d certificate deliveries; %d failed attempts logged (retried, or stopped if permanent)", sent, incomplete, results, delivered, retries)
	say("  isolation: %s", isolation)
	var races int64
	for _, n := range a.Engine.StaleTransitions() {
		races += n
	}
	say("  state changes: every one a guarded transition; %d late step(s) found their flow moved on and changed nothing", races)
	say("  callbacks: %s", receiver.settle(ctx, func() (n int) {
		q(`SELECT count(*) FROM notifications WHERE delivered_at IS NULL`, &n)
		return n
	}, time.Now().Add(15*time.Second)))
	var blockedLog int
	q(`SELECT count(*) FROM exchange_log WHERE outcome = 'blocked'`, &blockedLog)
	say("  signatures: %d GOST verifications done in-house (each signature once: repeats come from the cache); %d send attempt(s) stopped by the certificate gate, no request sent",
		a.Intake.Signatures.Verifier.Verifications(), blockedLog)
	if opKey, err := a.Store.CreateOperator(ctx, "demo operator"); err == nil {
		if st, body := call("GET", "/api/v1/certificates/expiring?days=30", opKey, nil); st == 200 {
			items, _ := body["items"].([]any)
			say("  certificates expiring within 30 days, as operators see them (GET /api/v1/certificates/expiring?days=30):")
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    NOT AFTER\tDAYS LEFT\tROLE\tSUBJECT\tSYSTEM\tDOCUMENTS")
			for i, it := range items {
				if i == 6 {
					fmt.Fprintf(tw, "    …\t%d more\t\t\t\t\n", len(items)-i)
					break
				}
				m := it.(map[string]any)
				sys, _ := m["system"].(map[string]any)
				fmt.Fprintf(tw, "    %v\t%v\t%v\t%s\t%v\t%v\n", m["not_after"], m["days_left"], m["role"], shorten(fmt.Sprint(m["subject"]), 40), sys["name"], m["documents"])
			}
			_ = tw.Flush()
		}
	}
	say("\n▸ what the peers saw (nothing delivered twice: duplicates are repeats recognised by message id):")
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PEER\tOPERATION\tRECEIVED\tUNIQUE\tDUPLICATES\tFAULTS")
	counters := sims.Counters()
	for _, peer := range sims.Names() {
		ops := make([]string, 0, len(counters[peer]))
		for op := range counters[peer] {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			c := counters[peer][op]
			var faults []string
			for k, v := range c.Faults {
				faults = append(faults, fmt.Sprintf("%s=%d", k, v))
			}
			sort.Strings(faults)
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\n", peer, op, c.Received, c.Unique, c.Duplicates, strings.Join(faults, " "))
		}
	}
	_ = tw.Flush()
	say("\n▸ done in %s", elapsed())
	if *stay {
		if err := demoStay(ctx, a, base, say); err != nil {
			return err
		}
	}
	stopServer()
	stopped = true
	if err := <-served; err != nil {
		return err
	}
	return nil
}

// flowState renders where a submitted document's flow stands.
func flowState(call func(method, path, key string, body any) (int, map[string]any), key, docID string) string {
	if st, ref := call("GET", "/api/v1/mse/referrals/"+docID, key, nil); st == 200 {
		s := fmt.Sprint(ref["state"])
		links, _ := ref["links"].([]any)
		fetched, other := 0, []string{}
		for _, l := range links {
			lm := l.(map[string]any)
			if lm["state"] == "fetched" {
				fetched++
			} else {
				other = append(other, fmt.Sprintf("%v %v", lm["state"], orEmpty(lm["last_error_code"])))
			}
		}
		detail := fmt.Sprintf(" (%d/%d linked fetched", fetched, len(links))
		if len(other) > 0 {
			detail += "; " + strings.Join(other, ", ")
		}
		detail += ")"
		if c := ref["case_id"]; c != nil {
			detail += fmt.Sprintf(" case %v", c)
		}
		return s + detail
	}
	_, dl := call("GET", "/api/v1/documents/"+docID+"/deliveries", key, nil)
	items, _ := dl["items"].([]any)
	var parts []string
	for _, it := range items {
		m := it.(map[string]any)
		p := fmt.Sprintf("%v %v", m["recipient"], m["state"])
		if m["state"] != "delivered" && m["last_error_code"] != nil {
			p += fmt.Sprintf(" (%v)", m["last_error_code"])
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func orEmpty(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// citizenEvents prints, for each referral, the MSE events told to its
// citizen on ЕПГУ (deliveries carrying the contract's event names), once
// none is still under way.
func citizenEvents(stdout io.Writer, call func(method, path, key string, body any) (int, map[string]any), key string, flows [][2]string, deadline time.Time) {
	type row struct{ flow, event, state string }
	collect := func() (rows []row, busy bool) {
		for _, f := range flows {
			name, docID := f[0], f[1]
			if docID == "" {
				continue
			}
			if st, _ := call("GET", "/api/v1/mse/referrals/"+docID, key, nil); st != 200 {
				continue
			}
			_, dl := call("GET", "/api/v1/documents/"+docID+"/deliveries", key, nil)
			items, _ := dl["items"].([]any)
			for _, it := range items {
				m := it.(map[string]any)
				st := fmt.Sprint(m["state"])
				if st == "pending" || st == "retrying" {
					busy = true
				}
				if m["last_error_code"] != nil && st != "delivered" {
					st += fmt.Sprintf(" (%v)", m["last_error_code"])
				}
				rows = append(rows, row{name, fmt.Sprint(m["event"]), st})
			}
		}
		return rows, busy
	}
	rows, busy := collect()
	for busy && time.Now().Before(deadline) {
		time.Sleep(150 * time.Millisecond)
		rows, busy = collect()
	}
	fmt.Fprintln(stdout, "\n▸ citizens told on ЕПГУ of their MSE referrals (GET /api/v1/documents/{referral}/deliveries):")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  REFERRAL\tЕПГУ EVENT\tSTATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.flow, r.event, r.state)
	}
	_ = tw.Flush()
}

// enrichmentLookup seeds the policy registry simulator with referral A's
// patient (POST /control/policies) and looks the policy up by СНИЛС twice
// (the second answer from the cache), then an unknown СНИЛС. The demo
// prints the СНИЛС masked, as the hub's logs never show it.
func enrichmentLookup(stdout io.Writer, call func(method, path, key string, body any) (int, map[string]any), key, policyBase string, p semdgen.Person) {
	seed, _ := json.Marshal(map[string]any{"snils": p.SNILS, "enp": p.ENP, "insurer": "АО «СК «СОГАЗ-Мед»", "active": true})
	res, err := http.Post(policyBase+"/control/policies", "application/json", bytes.NewReader(seed))
	if err != nil {
		fmt.Fprintf(stdout, "\n▸ enrichment: seeding the policy registry failed: %v\n", err)
		return
	}
	res.Body.Close()
	masked := "***-***-*** " + p.SNILS[9:]
	st, a := call("POST", "/api/v1/enrichment/snils", key, map[string]string{"snils": p.SNILS})
	pol, _ := a["policy"].(map[string]any)
	fmt.Fprintf(stdout, "\n▸ enrichment: POST /api/v1/enrichment/snils {\"snils\": %q} → HTTP %d, ЕНП %v, insurer %v, active %v, cached %v\n",
		masked, st, a["enp"], pol["insurer"], pol["active"], a["cached"])
	st, a = call("POST", "/api/v1/enrichment/snils", key, map[string]string{"snils": p.SNILS})
	fmt.Fprintf(stdout, "  asked again → HTTP %d, cached %v (HUB_POLICY_CACHE_TTL)\n", st, a["cached"])
	st, a = call("POST", "/api/v1/enrichment/snils", key, map[string]string{"snils": "112-233-445 95"})
	fmt.Fprintf(stdout, "  a СНИЛС the registry does not know → HTTP %d %v\n", st, a["code"])
}
