package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emdhub/hub/internal/kinds"
)

// `hub kinds` talks to a running hub's operator API (/api/v1/ops/kinds),
// not to the database: an upload must be compiled and tried by a hub, and
// recorded in the audit log under an operator's key, like any operator
// action. Registered here rather than in cli.go's table so this command
// stays in one file.
func init() {
	commands["kinds"] = command{"operators' run-time kinds on a running hub (HUB_URL, HUB_OPERATOR_KEY): upload a bundle, list, activate a version, rollback", runKinds}
}

const kindsUsage = `usage: hub kinds <subcommand> [flags]

  upload   -kind K [-note TEXT] [-activate=false] BUNDLE.zip|DIR   store a bundle as K's next version (active unless -activate=false)
  list     [-kind K]                                                what each kind runs here and every stored version
  activate -kind K -version N                                       put version N of K in force
  rollback -kind K                                                  put back the version before the active one (from version 1: the built-in set)

every subcommand takes -url (default $HUB_URL, else http://127.0.0.1:8080)
and -key (default $HUB_OPERATOR_KEY): an operator API key`

func runKinds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, kindsUsage)
		return usageError(errors.New("a subcommand is required"))
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("kinds "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defURL := getenv("HUB_URL")
	if defURL == "" {
		defURL = "http://127.0.0.1:8080"
	}
	base := fs.String("url", defURL, "the hub's base URL")
	key := fs.String("key", getenv("HUB_OPERATOR_KEY"), "operator API key")
	kind := fs.String("kind", "", "document kind (НСИ 1520 code, e.g. 121)")
	var (
		note     *string
		activate *bool
		version  *int
	)
	switch sub {
	case "upload":
		note = fs.String("note", "", "a note kept with the version")
		activate = fs.Bool("activate", true, "put the new version in force at once")
	case "activate":
		version = fs.Int("version", 0, "the version to activate")
	case "list", "rollback":
	default:
		fmt.Fprintln(stderr, kindsUsage)
		return usageError(fmt.Errorf("unknown subcommand %q", sub))
	}
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *key == "" {
		return usageError(errors.New("no operator key: set HUB_OPERATOR_KEY or give -key"))
	}
	if *kind == "" && sub != "list" {
		return usageError(errors.New("-kind is required"))
	}
	c := &opsClient{base: strings.TrimRight(*base, "/"), key: *key, http: &http.Client{Timeout: 2 * time.Minute}}
	switch sub {
	case "upload":
		if fs.NArg() != 1 {
			return usageError(errors.New("upload takes one bundle: a .zip file or a directory laid out as one"))
		}
		zb, err := readBundleArg(fs.Arg(0))
		if err != nil {
			return usageError(err)
		}
		q := url.Values{"activate": {strconv.FormatBool(*activate)}}
		if *note != "" {
			q.Set("note", *note)
		}
		var out kindChange
		if err := c.do(ctx, "POST", "/api/v1/ops/kinds/"+url.PathEscape(*kind)+"?"+q.Encode(), "application/zip", zb, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "uploaded kind %s version %d (%s, sha256 %s)\n", out.Version.Kind, out.Version.Version, out.Version.State, out.Version.SHA256)
		printInForce(stdout, *kind, out.InForce)
	case "activate":
		if *version <= 0 {
			return usageError(errors.New("-version N is required"))
		}
		var out kindChange
		if err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/ops/kinds/%s/versions/%d/activate", url.PathEscape(*kind), *version), "", nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "kind %s version %d is active\n", *kind, out.Version.Version)
		printInForce(stdout, *kind, out.InForce)
	case "rollback":
		var out kindChange
		if err := c.do(ctx, "POST", "/api/v1/ops/kinds/"+url.PathEscape(*kind)+"/rollback", "", nil, &out); err != nil {
			return err
		}
		if out.Version == nil {
			fmt.Fprintf(stdout, "kind %s rolled back to the built-in set\n", *kind)
		} else {
			fmt.Fprintf(stdout, "kind %s rolled back to version %d\n", *kind, out.Version.Version)
		}
		printInForce(stdout, *kind, out.InForce)
	case "list":
		path := "/api/v1/ops/kinds"
		if *kind != "" {
			path += "/" + url.PathEscape(*kind)
		}
		var out struct {
			InForce  json.RawMessage `json:"in_force"`
			Versions []kinds.Version `json:"versions"`
		}
		if err := c.do(ctx, "GET", path, "", nil, &out); err != nil {
			return err
		}
		var force []inForceView
		if *kind != "" {
			var one *inForceView
			_ = json.Unmarshal(out.InForce, &one)
			if one != nil {
				force = append(force, *one)
			}
		} else {
			_ = json.Unmarshal(out.InForce, &force)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IN FORCE\tVERSION\tRULES\tASSERTS\tXSD")
		for _, f := range force {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%t\n", f.Kind, versionLabel(f.Version), f.Rules, f.Asserts, f.XSD)
		}
		fmt.Fprintln(tw, "\nKIND\tVERSION\tSTATE\tUPLOADED\tBY\tBYTES\tSHA256\tNOTE")
		for _, v := range out.Versions {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%.16s…\t%s\n", v.Kind, v.Version, v.State, v.UploadedAt.UTC().Format(time.RFC3339), v.UploadedBy, v.Bytes, v.SHA256, v.Note)
		}
		return tw.Flush()
	}
	return nil
}

type inForceView struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	Rules   int    `json:"rules"`
	Asserts int    `json:"asserts"`
	XSD     bool   `json:"xsd"`
}

type kindChange struct {
	Version *kinds.Version `json:"version"`
	InForce *inForceView   `json:"in_force"`
}

func versionLabel(v int) string {
	if v == 0 {
		return "built-in"
	}
	return strconv.Itoa(v)
}

func printInForce(w io.Writer, kind string, f *inForceView) {
	if f == nil {
		fmt.Fprintf(w, "in force on this hub: no schematron for kind %s\n", kind)
		return
	}
	fmt.Fprintf(w, "in force on this hub: kind %s %s, %d rules, %d asserts, xsd %t (other hub processes follow within seconds)\n",
		f.Kind, versionLabel(f.Version), f.Rules, f.Asserts, f.XSD)
}

// readBundleArg reads a bundle zip, or zips a directory laid out as a bundle.
func readBundleArg(p string) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return kinds.ZipDir(p)
	}
	return os.ReadFile(p)
}

type opsClient struct {
	base, key string
	http      *http.Client
}

// apiError is a refusal from the hub, printed with every detail (file,
// line, rule) so an operator can fix the bundle.
type apiError struct {
	Status    int
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Details   []kinds.Problem `json:"details"`
	RequestID string          `json:"request_id"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the hub answers %d %s: %s", e.Status, e.Code, e.Message)
	for _, d := range e.Details {
		where := d.File
		if d.Line > 0 {
			where = fmt.Sprintf("%s:%d", d.File, d.Line)
		}
		fmt.Fprintf(&b, "\n  %s", d.Code)
		for _, s := range []string{where, d.Rule, d.Path} {
			if s != "" {
				fmt.Fprintf(&b, " %s", s)
			}
		}
		fmt.Fprintf(&b, ": %s", d.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "\n(request id %s)", e.RequestID)
	}
	return b.String()
}

func (c *opsClient) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return usageError(fmt.Errorf("hub URL: %w", err))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("hub at %s: %w", c.base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("hub at %s: reading the answer: %w", c.base, err)
	}
	if res.StatusCode >= 300 {
		e := &apiError{Status: res.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Code == "" {
			return fmt.Errorf("hub at %s answers %s: %.200s", c.base, res.Status, raw)
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("hub at %s: unexpected answer: %w", c.base, err)
	}
	return nil
}
