package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

type hubProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startHub(t *testing.T, bin string, env []string) *hubProc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), env...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &hubProc{cmd: cmd, logs: logs}
}

// TestKilledHubCompletesEveryFlowOnce runs the real binary against the
// simulators, kills it with SIGKILL in the middle of the flows, starts it
// again, and checks that every referral and every certificate reached its
// peer exactly once (repeats after the crash are recognised by message id).
func TestKilledHubCompletesEveryFlowOnce(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hub")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/hub").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sims := sim.NewSet()
	slow := map[string]sim.Faults{"*": {LatencyMin: sim.Duration(20 * time.Millisecond), LatencyMax: sim.Duration(120 * time.Millisecond)}}
	for _, p := range []*sim.Peer{sims.Bureau.Peer, sims.Registry.Peer, sims.Portal.Peer, sims.Provider.Peer} {
		p.SetFaults(slow)
	}
	urls := map[string]string{}
	for name, h := range sims.Handlers() {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls[name] = srv.URL + "/soap"
	}
	dbURL := testdb.URL(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	env := []string{"HUB_TRUSTED_CA_DIR=" + caDir, "DATABASE_URL=" + dbURL, "HUB_LISTEN_ADDR=" + addr, "HUB_LOG_LEVEL=warn",
		"HUB_MSE_URL=" + urls["mse"], "HUB_ZAGS_URL=" + urls["zags"], "HUB_EPGU_URL=" + urls["epgu"], "HUB_PROVIDER_URL=" + urls["provider"],
		"HUB_SOAP_TIMEOUT=1s", "HUB_RESCUE_AFTER=10s", "HUB_RETRY_BASE=50ms", "HUB_RETRY_MAX=500ms",
		"HUB_RESULTS_POLL_INTERVAL=200ms", "HUB_STATUS_POLL_INTERVAL=200ms", "HUB_WORKERS_PER_QUEUE=4"}

	ctx := context.Background()
	pool, err := db.Open(ctx, dbURL, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	org := semdgen.NewOrg(77, 61)
	reg, err := st.RegisterSystem(ctx, org.OID, org.Name, "МИС")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOrganizationOGRN(ctx, org.OID, org.OGRN); err != nil { // 76 carries it nowhere
		t.Fatal(err)
	}

	hub := startHub(t, bin, env)
	base := "http://" + addr
	waitReady(t, base, hub)

	r := rand.New(rand.NewPCG(5, 5))
	const referrals, certificates = 8, 16
	post := func(sub semdgen.Submission) {
		b, _ := json.Marshal(sub)
		req, _ := http.NewRequest("POST", base+"/api/v1/documents", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+reg.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("submit: %d %s", res.StatusCode, body)
		}
	}
	for i := 0; i < referrals; i++ {
		patient := semdgen.RandomPerson(r, 77)
		var links []semdgen.Link
		for _, k := range []string{"119", "186"} {
			d := semdgen.MustBuild(semdgen.Options{Kind: k, Org: org, Patient: &patient, Rand: r, Effective: time.Now().Add(-time.Hour)})
			sims.Provider.Add(0, d.Signed())
			links = append(links, semdgen.Link{Kind: k, ID: d.ID})
		}
		post(semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Patient: &patient, Links: links, Rand: r}).Submission())
	}
	for i := 0; i < certificates; i++ {
		post(semdgen.MustBuild(semdgen.Options{Kind: []string{"58", "76"}[i%2], Org: org, Rand: r}).Submission())
	}
	// Kill it mid-flow: some deliveries done, not all.
	deadline := time.Now().Add(60 * time.Second)
	for sims.Registry.Counters()["SubmitMedicalCertificate"].Unique < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress before the kill:\n%s", hub.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := hub.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = hub.cmd.Wait()
	before := sims.Counters()
	t.Logf("killed with %d/%d ЗАГС, %d/%d ЕПГУ, %d/%d bureau deliveries done",
		before["zags"]["SubmitMedicalCertificate"].Unique, certificates, before["epgu"]["SendNotification"].Unique, certificates,
		before["mse"]["SendReferral"].Unique, referrals)

	hub = startHub(t, bin, env)
	waitReady(t, base, hub)
	count := func(q string) int {
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline = time.Now().Add(3 * time.Minute)
	// Every delivery: the certificates' own and each referral's two ЕПГУ
	// events (MSE_REFERRAL_ACCEPTED, MSE_RESULT_READY).
	for count(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`) < 2*certificates+2*referrals ||
		count(`SELECT count(*) FROM mse_referrals WHERE state = 'result_received'`) < referrals || sims.Bureau.Pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("flows did not complete after the restart: %s\n%s", dump(ctx, pool), hub.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := sims.Counters()
	if u := c["zags"]["SubmitMedicalCertificate"].Unique; u != certificates {
		t.Errorf("ЕГР ЗАГС registered %d certificates, want %d", u, certificates)
	}
	if u := c["epgu"]["SendNotification"].Unique; u != certificates+2*referrals {
		t.Errorf("ЕПГУ sent %d notifications, want %d (one per certificate, two per referral)", u, certificates+2*referrals)
	}
	if u := c["mse"]["SendReferral"].Unique; u != referrals {
		t.Errorf("the bureau opened %d cases, want %d", u, referrals)
	}
	if n := count(`SELECT count(*) FROM mse_results`); n != referrals || sims.Bureau.Pending() != 0 {
		t.Errorf("%d results stored, %d unacknowledged", n, sims.Bureau.Pending())
	}
	// Every call is on record and counted: none is left under way (a call
	// the kill cut short was settled as killed when its job ran again).
	if n := count(`SELECT count(*) FROM exchange_log WHERE outcome = 'started'
		AND operation IN ('SubmitMedicalCertificate', 'SendNotification', 'SendReferral', 'GetDocument')`); n != 0 {
		t.Errorf("%d calls of completed flows left 'started'", n)
	}
	if n := count(`SELECT count(*) FROM deliveries dl WHERE attempts <> (SELECT count(*) FROM exchange_log x WHERE x.subject_id = dl.id)`); n != 0 {
		t.Errorf("%d deliveries whose attempts differ from the calls on record", n)
	}
	t.Logf("calls cut short by the kill, settled as killed: %d", count(`SELECT count(*) FROM exchange_log WHERE outcome = 'killed'`))
	t.Logf("duplicates recognised by the peers after the crash: zags %d, epgu %d, mse %d",
		c["zags"]["SubmitMedicalCertificate"].Duplicates, c["epgu"]["SendNotification"].Duplicates, c["mse"]["SendReferral"].Duplicates)
	_ = hub.cmd.Process.Signal(syscall.SIGTERM)
}

func waitReady(t *testing.T, base string, h *hubProc) {
	t.Helper()
	for i := 0; i < 400; i++ {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("hub never became ready:\n%s", h.logs)
}

// dump summarises states for a failure message.
func dump(ctx context.Context, q *pgxpool.Pool) string {
	var b bytes.Buffer
	for _, sql := range []string{
		`SELECT 'job ' || kind || ' ' || state || ' ' || attempt || ' ' || coalesce(errors[array_length(errors,1)]->>'error', '') FROM river_job ORDER BY id`,
		`SELECT 'delivery ' || recipient || ' ' || state || ' ' || coalesce(last_error, '') FROM deliveries`,
		`SELECT 'referral ' || state || ' ' || coalesce(last_error, '') FROM mse_referrals`,
		`SELECT 'leader ' || leader_id || ' ' || expires_at FROM river_leader`,
		`SELECT 'running ' || kind || ' attempted ' || attempted_at || ' by ' || coalesce(attempted_by[1], '') || ' now ' || now() FROM river_job WHERE state = 'running'`,
	} {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			fmt.Fprintln(&b, err)
			continue
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			fmt.Fprintln(&b, s)
		}
		rows.Close()
	}
	return b.String()
}
