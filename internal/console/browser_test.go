package console_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/testtool"
)

// chromium finds Debian's chromium (or another Chrome). Under CI=true its
// absence fails the test (.ci/run installs it); elsewhere the test skips.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testtool.Require(t, "chromium (Debian: chromium; .ci/run installs it)", errors.New("not on PATH"))
	return ""
}

// problems collects what the browser reports going wrong: JavaScript
// exceptions, console errors, log errors, failed or 4xx/5xx resources.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, a...))
}

func (p *problems) check(t *testing.T, where string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) > 0 {
		t.Fatalf("%s: the browser reported %s", where, strings.Join(p.list, "; "))
	}
}

// loaded waits until the browser is on a loaded page whose query has part
// (evaluating while a navigation is under way fails: those tries are retried).
func loaded(part string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var ok bool
			err := chromedp.Evaluate(fmt.Sprintf(`location.search.includes(%q) && document.readyState === "complete"`, part), &ok).Do(ctx)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for a page with %s: %w", part, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// TestConsoleInBrowser drives the console in a real (headless) chromium
// over a seeded record: signs in with an operator key, opens each
// dashboard, checks that the figures shown equal the stats API's, changes
// a filter through the form and checks again, downloads the XLSX report
// and reads it, and fails on any JavaScript error or failed resource.
// With HUB_SCREENSHOTS=DIR it writes the three dashboards there as PNG
// (docs/ holds the README's).
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	h := seeded(t)
	downloads := t.TempDir()
	// The profile directory is removed by hand, errors ignored: chromium's
	// helper processes may still be writing its cache as the test ends.
	profile, err := os.MkdirTemp("", "hub-console-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(profile))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	var bad problems
	done := make(chan string, 4)
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			bad.add("JavaScript exception: %s", e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				bad.add("console error")
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.LevelError {
				bad.add("log error: %s %s", e.Entry.Text, e.Entry.URL)
			}
		case *network.EventLoadingFailed:
			if !e.Canceled {
				bad.add("resource failed: %s", e.ErrorText)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				bad.add("resource %s: HTTP %d", e.Response.URL, e.Response.Status)
			}
		case *browser.EventDownloadProgress:
			if e.State == browser.DownloadProgressStateCompleted {
				done <- e.GUID
			}
		}
	})
	if err := chromedp.Run(ctx, network.Enable(), runtime.Enable(), log.Enable(),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(downloads).WithEventsEnabled(true)); err != nil {
		t.Fatal(err)
	}

	// figures reads every data-stat of the page.
	figures := func() map[string]string {
		var m map[string]string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('[data-stat]')].map(e => [e.dataset.stat, e.dataset.value]))`, &m)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	query := func() string {
		var loc string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`location.search`, &loc)); err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, "?")
	}
	shot := func(name string) {
		dir := os.Getenv("HUB_SCREENSHOTS")
		if dir == "" {
			return
		}
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkRegistration := func(where string) {
		t.Helper()
		var reg stats.Registration
		h.api("/api/v1/ops/stats/registration?"+query(), &reg)
		s := figures()
		if reg.Totals.Attempts == 0 || s["totals.attempts"] != itoa(reg.Totals.Attempts) || s["totals.accepted"] != itoa(reg.Totals.Accepted) ||
			s["totals.refused_percent"] != ftoa(reg.Totals.RefusedPercent) || s["totals.attempts_per_document"] != ftoa(reg.Totals.AttemptsPerDocument) ||
			s["queue"] != itoa(reg.Queue) {
			t.Fatalf("%s: the page shows %v, the API says %+v", where, s, reg.Totals)
		}
	}

	// Sign in: the console sends the browser to the sign-in page first.
	if err := chromedp.Run(ctx,
		chromedp.Navigate(h.srv.URL+"/console/registration"),
		chromedp.WaitVisible(`#key`, chromedp.ByID),
		chromedp.SendKeys(`#key`, h.opKey, chromedp.ByID),
		chromedp.Click(`#signin`, chromedp.ByID),
		chromedp.WaitVisible(`[data-stat="totals.attempts"]`),
	); err != nil {
		t.Fatal(err)
	}
	bad.check(t, "sign-in")
	checkRegistration("registration")
	shot("console-registration.png")

	// A filter changed through the form lands in the URL and the figures follow.
	region := stats.Regions[2].Code
	if err := chromedp.Run(ctx,
		chromedp.SetValue(`#f-region`, region, chromedp.ByID),
		chromedp.Click(`#apply`, chromedp.ByID),
		loaded("region="+region),
	); err != nil {
		t.Fatal(err)
	}
	if q := query(); !strings.Contains(q, "region="+region) {
		t.Fatalf("the filter is not in the URL: %s", q)
	}
	checkRegistration("registration, region " + region)

	// Refusals, with the ranking by system.
	if err := chromedp.Run(ctx, chromedp.Navigate(h.srv.URL+"/console/refusals?"+query()), chromedp.WaitVisible(`#by-system`, chromedp.ByID),
		chromedp.Click(`#by-system`, chromedp.ByID), loaded("by=system")); err != nil {
		t.Fatal(err)
	}
	var ref stats.Refusals
	h.api("/api/v1/ops/stats/refusals?"+query(), &ref)
	s := figures()
	if ref.By != "system" || s["total_errors"] != itoa(ref.TotalErrors) || s["totals.refused"] != itoa(ref.Totals.Refused) {
		t.Fatalf("refusals: the page shows %v, the API says %d errors by %s", s, ref.TotalErrors, ref.By)
	}
	for _, r := range ref.Reasons {
		if s["reason."+r.Code] != itoa(r.N) {
			t.Fatalf("reason %s: page %s, API %d", r.Code, s["reason."+r.Code], r.N)
		}
	}
	var rows int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('#ranking tr').length - 1`, &rows)); err != nil || rows != len(ref.Ranking) {
		t.Fatalf("ranking: %d rows, API %d (%v)", rows, len(ref.Ranking), err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(h.srv.URL+"/console/refusals"), chromedp.WaitVisible(`#ranking`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot("console-refusals.png")

	// Deliveries.
	if err := chromedp.Run(ctx, chromedp.Navigate(h.srv.URL+"/console/deliveries"), chromedp.WaitVisible(`#peers`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	var del stats.Deliveries
	h.api("/api/v1/ops/stats/deliveries?"+query(), &del)
	s = figures()
	for _, p := range del.Peers {
		if s["peer."+p.Peer+".attempts"] != itoa(p.Attempts) || s["peer."+p.Peer+".queue"] != itoa(p.Queue) {
			t.Fatalf("peer %s: page %v, API %+v", p.Peer, s, p)
		}
	}
	shot("console-deliveries.png")

	// "Скачать отчет" of the registration view, as the browser downloads it.
	if err := chromedp.Run(ctx, chromedp.Navigate(h.srv.URL+"/console/registration?region="+region), chromedp.WaitVisible(`#report-xlsx`, chromedp.ByID),
		chromedp.Click(`#report-xlsx`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	var guid string
	var x *excelize.File
	select {
	case guid = <-done:
	case <-ctx.Done():
		t.Fatal("the report did not download")
	}
	x, err = excelize.OpenFile(filepath.Join(downloads, guid))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheet, err := x.GetRows("Итоги")
	if err != nil {
		t.Fatal(err)
	}
	var reg stats.Registration
	h.api("/api/v1/ops/stats/registration?region="+region, &reg)
	if got := cell(sheet, "Всего попыток"); got != itoa(reg.Totals.Attempts) || cell(sheet, "Субъект РФ") == "" {
		t.Fatalf("report: attempts %q, API %d", got, reg.Totals.Attempts)
	}

	// Sign out.
	if err := chromedp.Run(ctx, chromedp.Click(`#logout`, chromedp.ByID), chromedp.WaitVisible(`#key`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	bad.check(t, "the whole visit")
}
