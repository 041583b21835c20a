package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/semdgen"
)

// runDemo shows the hub's door at work end to end: a private PostgreSQL
// (unless DATABASE_URL is set), migrations, the real HTTP API on a loopback
// port, two hospitals' information systems, and generated СЭМД submitted over
// HTTP — accepted, repeated, refused with their codes — then a summary.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed for the generated documents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if getenv("HUB_LOG_LEVEL") == "" {
		cfg.LogLevel = slog.LevelWarn // keep the demo's own output readable
	}
	if getenv("HUB_LOG_FORMAT") == "" {
		cfg.LogFormat = "text"
	}
	log := cfg.Logger()
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	started := time.Now()

	if cfg.DatabaseURL == "" {
		say("▸ DATABASE_URL is unset: starting a private PostgreSQL from %s …", pgcluster.DefaultBinDir)
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Database: "hub_demo"})
		if err != nil {
			return err
		}
		defer cl.Stop()
		cfg.DatabaseURL = cl.URL
		say("  PostgreSQL up on 127.0.0.1:%d (%.1fs)", cl.Port, time.Since(started).Seconds())
	} else {
		say("▸ using DATABASE_URL")
	}
	cfg.MigrateOnStart = true
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	say("▸ migrations applied (hub schema + River)")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	served := make(chan error, 1)
	go func() { served <- a.Serve(sctx, l) }()
	base := "http://" + l.Addr().String()
	say("▸ hub API listening on %s", base)

	r := rand.New(rand.NewPCG(*seed, 1))
	city := semdgen.NewOrg(77, 100+r.IntN(800))
	city.Name = "ГБУЗ «ГКБ № 52 ДЗМ»"
	region := semdgen.NewOrg(16, 100+r.IntN(800))
	region.Name = "ГАУЗ «Республиканская клиническая больница» МЗ РТ"
	regA, err := a.Store.RegisterSystem(ctx, city.OID, city.Name, "МИС ЕМИАС")
	if err != nil {
		return err
	}
	regB, err := a.Store.RegisterSystem(ctx, region.OID, region.Name, "МИС РТ")
	if err != nil {
		return err
	}
	say("▸ registered information systems (keys stored hashed):")
	say("    %s  %s  region %s", regA.Organization.OID, regA.Organization.Name, regA.Organization.Region)
	say("    %s  %s  region %s", regB.Organization.OID, regB.Organization.Name, regB.Organization.Region)

	client := &http.Client{Timeout: 30 * time.Second}
	type row struct{ step, kind, status, outcome string }
	var rows []row
	accepted, refused := 0, 0
	submit := func(step string, key string, sub semdgen.Submission) (map[string]any, int) {
		body, _ := json.Marshal(sub)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/documents", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		out := map[string]any{}
		res, err := client.Do(req)
		if err != nil {
			rows = append(rows, row{step, sub.Kind, "—", "transport error: " + err.Error()})
			return out, 0
		}
		defer res.Body.Close()
		_ = json.NewDecoder(res.Body).Decode(&out)
		outcome := ""
		switch {
		case res.StatusCode < 300:
			accepted++
			outcome = fmt.Sprintf("stored as %v", out["id"])
			if res.StatusCode == 200 {
				outcome = fmt.Sprintf("repeat: original record %v returned", out["id"])
			}
		default:
			refused++
			outcome = fmt.Sprintf("%v: %s", out["code"], shorten(fmt.Sprint(out["message"]), 90))
		}
		rows = append(rows, row{step, sub.Kind, fmt.Sprint(res.StatusCode), outcome})
		fmt.Fprintf(stdout, "  %-44s → %d\n", step, res.StatusCode)
		return out, res.StatusCode
	}

	say("▸ submitting documents over HTTP as %s:", regA.System.Name)
	patient := semdgen.RandomPerson(r, 77)
	var links []semdgen.Link
	for _, k := range []struct{ kind, what string }{
		{"119", "consultation protocol"}, {"186", "lab protocol"}, {"174", "instrumental protocol"},
		{"147", "discharge epicrisis"}, {"158", "medical board extract"},
	} {
		d := semdgen.MustBuild(semdgen.Options{Kind: k.kind, Org: city, Patient: &patient, Rand: r, Effective: time.Now().Add(-72 * time.Hour)})
		submit("linked "+k.what, regA.APIKey, d.Submission())
		links = append(links, semdgen.Link{Kind: k.kind, ID: d.ID})
	}
	referral := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Patient: &patient, Links: links, Rand: r})
	ref, _ := submit("MSE referral with 5 LINKDOCS", regA.APIKey, referral.Submission())
	death := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, Rand: r})
	submit("death certificate", regA.APIKey, death.Submission())
	submit("birth certificate", regA.APIKey, semdgen.MustBuild(semdgen.Options{Kind: "76", Org: city, Rand: r}).Submission())
	submit("perinatal death certificate", regA.APIKey, semdgen.MustBuild(semdgen.Options{Kind: "59", Org: city, Rand: r}).Submission())
	submit("death certificate, sent again", regA.APIKey, death.Submission())
	submit("referral with a mistyped СНИЛС", regA.APIKey,
		semdgen.MustBuild(semdgen.Options{Kind: "121", Org: city, Rand: r, Defects: []semdgen.Defect{semdgen.DefectBadSNILS}}).Submission())
	submit("death certificate without series/number", regA.APIKey,
		semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, Rand: r, Defects: []semdgen.Defect{semdgen.DefectNoSeries}}).Submission())
	submit("same CDA id, different content", regA.APIKey, semdgen.MustBuild(semdgen.Options{Kind: "58", Org: city, ID: death.ID, Rand: r}).Submission())
	submit("another hospital's document", regA.APIKey, semdgen.MustBuild(semdgen.Options{Kind: "119", Org: region, Rand: r}).Submission())
	broken := referral.Submission()
	broken.Document = base64.StdEncoding.EncodeToString(referral.XML[:len(referral.XML)/2]) // cut in half
	submit("malformed XML", regA.APIKey, broken)

	// Isolation: the other hospital's system cannot read the referral.
	isolation := "n/a"
	if id, ok := ref["id"].(string); ok {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/documents/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+regB.APIKey)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			isolation = fmt.Sprintf("%s reading %s's referral → HTTP %d", regB.System.Name, regA.System.Name, res.StatusCode)
		}
	}

	say("\n▸ what happened:")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tKIND\tHTTP\tOUTCOME")
	for _, x := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", x.step, x.kind, x.status, x.outcome)
	}
	_ = tw.Flush()
	var stored int
	_ = a.Pool.QueryRow(ctx, "SELECT count(*) FROM documents").Scan(&stored)
	say("\n▸ summary: %d accepted (incl. 1 idempotent repeat), %d refused with a code, %d documents stored; isolation: %s; %.1fs",
		accepted, refused, stored, isolation, time.Since(started).Seconds())

	stopServer()
	if err := <-served; err != nil {
		return err
	}
	return nil
}

func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
