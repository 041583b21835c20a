// Package config reads the hub's one Config from the environment.
//
// Every option is declared once in the options table below with its
// variable name, default and description; the README's configuration table
// is that same list (TestReadmeListsEveryOption keeps them in step). Secrets
// may instead be given in a file named by <NAME>_FILE.
package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the hub's runtime configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL URL (pgx syntax; pool_max_conns etc. allowed).
	// Empty: `hub serve` refuses to start; `hub demo` starts a private cluster.
	DatabaseURL string
	// ListenAddr is the HTTP API address. Default ":8080".
	ListenAddr string
	// MaxBodyBytes caps a request body; larger requests get 413. Default 16 MiB.
	MaxBodyBytes int64
	// MigrateOnStart makes `hub serve` apply migrations before serving. Default false.
	MigrateOnStart bool
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel slog.Level
	// LogFormat is json (production) or text (humans). Default json.
	LogFormat string
	// ShutdownTimeout bounds graceful shutdown of HTTP and workers. Default 15s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading request headers (slowloris). Default 10s.
	ReadHeaderTimeout time.Duration
	// RequestTimeout bounds one API request's work. Default 30s.
	RequestTimeout time.Duration

	// Mode is all (API and workers), api (API only: inserts jobs, runs none)
	// or worker (workers only, no HTTP but health). Default all.
	Mode string
	// Peer endpoints (SOAP). Defaults point at `hub sim`.
	MSEURL, ZAGSURL, EPGUURL, ProviderURL, PolicyURL string
	// SOAPTimeout bounds one SOAP call. Default 30s.
	SOAPTimeout time.Duration
	// PackageDeadline: links still unsettled this long after a referral
	// arrives are settled as unavailable. Default 24h.
	PackageDeadline time.Duration
	// ResultsPollInterval: how often the bureau's results are pulled. Default 30s.
	ResultsPollInterval time.Duration
	// StatusPollInterval: how often a sent referral's status is asked. Default 5m.
	StatusPollInterval time.Duration
	// RetryBase and RetryMax shape the back-off: base·2^(attempt-1), capped,
	// with ±25% jitter. Defaults 2s and 10m.
	RetryBase, RetryMax time.Duration
	// MaxAttempts before a job is discarded and shown as failed. Default 25.
	MaxAttempts int
	// BreakerThreshold consecutive peer-down failures open a recipient's
	// breaker for BreakerCooldown, during which its jobs wait and one probe
	// goes through per cooldown. Defaults 5 and 30s.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Workers per queue (fetch, mse, zags, epgu, notify). Default 10.
	WorkersPerQueue int
	// RiverFetchCooldown is the least time between two fetches of jobs by
	// one queue's producer, RiverFetchPollInterval the longest without
	// one when no insert notification wakes it (River's FetchCooldown and
	// FetchPollInterval; docs/performance.md, issue 16). Defaults 20ms, 500ms.
	RiverFetchCooldown, RiverFetchPollInterval time.Duration
	// TrustedCADir holds the CA certificates (PEM: *.pem, *.crt, *.cer) a
	// signer's certificate must chain to: the accredited CAs in production,
	// the fixture CA in tests and the demo. Required: without it every
	// signature would be refused with CANT_BUILD_CERT_CHAIN_TO_ACCREDITED_CA_CERT.
	TrustedCADir string
	// CRLDir optionally holds the trusted CAs' revocation lists (*.crl or
	// *.pem, DER or PEM), reread every 5 minutes: a revoked signer
	// certificate is refused at the door and stopped by the certificate
	// gate. Empty: no revocation checks.
	CRLDir string
	// RescueAfter: a job still running this long (its process died) is
	// rescued and retried. Must exceed the job timeout (4 × SOAPTimeout + 5s). Default 15m.
	RescueAfter time.Duration
	// IntermediateCADir optionally holds intermediate CA certificates (PEM)
	// that chains may pass through besides those the CMS itself carries.
	// Nothing learnt from earlier submissions is ever used to build a chain.
	IntermediateCADir string

	// ReadTimeout bounds reading one whole request, body included, so a
	// client trickling bytes is cut off. Default 30s.
	ReadTimeout time.Duration
	// MaxLinks caps the LINKDOCS entries of one referral (after duplicate
	// links are merged); more are refused at the door. Default 50.
	MaxLinks int
	// XML structure limits at the door: element depth, attributes per
	// element, bytes of one attribute value, elements in a document.
	// Defaults 64, 64, 65536, 200000.
	XMLMaxDepth, XMLMaxAttrs, XMLMaxAttrBytes, XMLMaxElements int
	// CallbackAllowCIDRs are the private networks an operator allows МИС
	// callbacks to reach (on-premise systems); every other loopback,
	// link-local, private, unique-local, multicast or unspecified address
	// is refused. Empty by default.
	CallbackAllowCIDRs []netip.Prefix
	// CallbackAllowHTTP lets callbacks use plain http (https only by default).
	CallbackAllowHTTP bool
	// ResultDeadline: a referral sent this long ago with no result or
	// return notice is listed among the troubles. Default 720h (30 days).
	ResultDeadline time.Duration
	// SchematronDir holds the official schematrons (*.sch) the door runs,
	// compiled once at start. Empty: the ones bundled in the binary.
	SchematronDir string
	// NSIDir holds ФНСИ reference books as the ФНСИ API exports them
	// (<OID>_<version>.json with its .passport.json), used for ФЛК level 2.
	// Empty: the ones bundled in the binary.
	NSIDir string
	// NSICheck turns ФЛК level 2 on at the door (codes against the books,
	// СНИЛС checksums, registered organisations). Default true; false
	// lets a МИС on older book versions through while an operator adds them.
	NSICheck bool
	// KindsPoll is how often each process rereads the active kind bundles
	// (operators' run-time kinds) besides PostgreSQL NOTIFY: the fallback
	// for a lost LISTEN connection. Default 10s.
	KindsPoll time.Duration
	// MetricsAddr is where /metrics listens, apart from the API (no key:
	// reach it only from the monitoring network). Empty: not served.
	MetricsAddr string
	// NSISettings is a JSON file of per-book settings for ФЛК level 2
	// (refbook.ParseSettings) on top of the hub's defaults. Empty: the defaults.
	NSISettings string
	// XSDDir holds the official CDA schemas, <kind>/CDA.xsd with what it
	// includes, that the door checks documents against before the
	// schematron. Empty: the ones bundled in the binary.
	XSDDir string

	// Operator console and dashboards (issue 14, internal/stats, internal/console).
	// StatsRollupInterval: how often the attempts at the door are folded
	// into the dashboards' roll-ups. Default 1m.
	StatsRollupInterval time.Duration
	// ConsoleSessionTTL: how long a console sign-in lasts. Default 12h.
	ConsoleSessionTTL time.Duration
	// issue 15, citizens (branch epgu)
	// PolicyCacheTTL is how long an answer of the ОМС policy registry to
	// the enrichment API is reused. Default 10m.
	PolicyCacheTTL time.Duration
	// EPGUDocumentNotices: every accepted document whose patient has a
	// СНИЛС is announced to the citizen on ЕПГУ, batched per citizen per
	// day. Default false (HUB_EPGU_DOCUMENT_NOTICES=off).
	EPGUDocumentNotices bool

	// issue 16, group commit (branch groupcommit)
	// GroupCommitters is how many group-commit batches of submissions may
	// commit at once (internal/intake Committer); 0: one transaction per
	// document. Default 2.
	GroupCommitters int
	// issue 16, partitions (branch partition)
	// RetentionMonths: whole months of documents, signatures, exchange log
	// and attempts kept; older month partitions are dropped by
	// internal/retention unless one still holds a live flow. 0 (default):
	// keep forever.
	RetentionMonths int
}

// JobTimeout bounds one workflow step: room for a few SOAP calls.
func (c *Config) JobTimeout() time.Duration { return 4*c.SOAPTimeout + 5*time.Second }

type option struct {
	name, def, help string
	secret          bool
	set             func(c *Config, v string) error
}

// Options lists every variable the hub reads, for docs and tests.
func Options() []struct{ Name, Default, Help string } {
	var out []struct{ Name, Default, Help string }
	for _, o := range append(append([]option{}, options...), workflowOptions(&Config{})...) {
		out = append(out, struct{ Name, Default, Help string }{o.name, o.def, o.help})
	}
	return out
}

var options = []option{
	{name: "DATABASE_URL", def: "", secret: true, help: "PostgreSQL URL; `hub demo` starts a private cluster when unset",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{name: "HUB_LISTEN_ADDR", def: ":8080", help: "HTTP API listen address",
		set: func(c *Config, v string) error { c.ListenAddr = v; return nil }},
	{name: "HUB_MAX_BODY_BYTES", def: "16777216", help: "largest accepted request body in bytes (413 above)",
		set: func(c *Config, v string) (err error) {
			c.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64)
			if err == nil && c.MaxBodyBytes < 1024 {
				err = fmt.Errorf("must be at least 1024")
			}
			return err
		}},
	{name: "HUB_MIGRATE_ON_START", def: "false", help: "apply migrations when `hub serve` starts",
		set: func(c *Config, v string) (err error) { c.MigrateOnStart, err = strconv.ParseBool(v); return err }},
	{name: "HUB_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
		set: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{name: "HUB_LOG_FORMAT", def: "json", help: "json or text",
		set: func(c *Config, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("must be json or text")
			}
			c.LogFormat = v
			return nil
		}},
	{name: "HUB_SHUTDOWN_TIMEOUT", def: "15s", help: "graceful shutdown budget (HTTP, then workers, then pool)",
		set: func(c *Config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return err }},
	{name: "HUB_READ_HEADER_TIMEOUT", def: "10s", help: "time allowed to read request headers",
		set: func(c *Config, v string) (err error) { c.ReadHeaderTimeout, err = time.ParseDuration(v); return err }},
	{name: "HUB_REQUEST_TIMEOUT", def: "30s", help: "time allowed for one API request",
		set: func(c *Config, v string) (err error) { c.RequestTimeout, err = time.ParseDuration(v); return err }},
}

func dur(dst *time.Duration) func(*Config, string) error {
	return func(_ *Config, v string) (err error) {
		*dst, err = time.ParseDuration(v)
		if err == nil && *dst <= 0 {
			err = fmt.Errorf("must be positive")
		}
		return err
	}
}

func posInt(dst *int) func(*Config, string) error {
	return func(_ *Config, v string) (err error) {
		*dst, err = strconv.Atoi(v)
		if err == nil && *dst <= 0 {
			err = fmt.Errorf("must be positive")
		}
		return err
	}
}

// workflowOptions are bound to a specific Config in Load (their setters
// write through pointers into it).
func workflowOptions(c *Config) []option {
	str := func(dst *string) func(*Config, string) error {
		return func(_ *Config, v string) error { *dst = v; return nil }
	}
	return []option{
		{name: "HUB_MODE", def: "all", help: "all (API and workers), api, or worker", set: func(_ *Config, v string) error {
			if v != "all" && v != "api" && v != "worker" {
				return fmt.Errorf("must be all, api or worker")
			}
			c.Mode = v
			return nil
		}},
		{name: "HUB_MSE_URL", def: "http://127.0.0.1:9101/soap", help: "MSE bureau SOAP endpoint", set: str(&c.MSEURL)},
		{name: "HUB_ZAGS_URL", def: "http://127.0.0.1:9102/soap", help: "ЕГР ЗАГС SOAP endpoint", set: str(&c.ZAGSURL)},
		{name: "HUB_EPGU_URL", def: "http://127.0.0.1:9103/soap", help: "ЕПГУ SOAP endpoint", set: str(&c.EPGUURL)},
		{name: "HUB_PROVIDER_URL", def: "http://127.0.0.1:9104/soap", help: "document provider for systems registered without their own", set: str(&c.ProviderURL)},
		{name: "HUB_POLICY_URL", def: "http://127.0.0.1:9105/soap", help: "ОМС policy registry SOAP endpoint", set: str(&c.PolicyURL)},
		{name: "HUB_SOAP_TIMEOUT", def: "30s", help: "deadline of one SOAP call", set: dur(&c.SOAPTimeout)},
		{name: "HUB_PACKAGE_DEADLINE", def: "24h", help: "after this, unfetched linked documents are settled as unavailable", set: dur(&c.PackageDeadline)},
		{name: "HUB_RESULTS_POLL_INTERVAL", def: "30s", help: "how often MSE results are pulled from the bureau", set: dur(&c.ResultsPollInterval)},
		{name: "HUB_STATUS_POLL_INTERVAL", def: "5m", help: "how often a sent referral's status is asked", set: dur(&c.StatusPollInterval)},
		{name: "HUB_RETRY_BASE", def: "2s", help: "first retry delay; doubles per attempt, ±25% jitter", set: dur(&c.RetryBase)},
		{name: "HUB_RETRY_MAX", def: "10m", help: "longest retry delay", set: dur(&c.RetryMax)},
		{name: "HUB_MAX_ATTEMPTS", def: "25", help: "attempts before a step is given up and shown as failed", set: posInt(&c.MaxAttempts)},
		{name: "HUB_BREAKER_THRESHOLD", def: "5", help: "consecutive peer-down failures that open a recipient's circuit breaker", set: posInt(&c.BreakerThreshold)},
		{name: "HUB_BREAKER_COOLDOWN", def: "30s", help: "how long an open breaker holds a recipient's jobs before one probe", set: dur(&c.BreakerCooldown)},
		{name: "HUB_RESCUE_AFTER", def: "15m", help: "a step still running this long (its process died) is retried; must exceed 4 × HUB_SOAP_TIMEOUT + 5s", set: dur(&c.RescueAfter)},
		{name: "HUB_TRUSTED_CA_DIR", def: "", help: "directory of trusted (accredited) CA certificates in PEM; required", set: str(&c.TrustedCADir)},
		{name: "HUB_CRL_DIR", def: "", help: "directory of the trusted CAs' CRLs, reread every 5 minutes; empty: no revocation checks", set: str(&c.CRLDir)},
		{name: "HUB_WORKERS_PER_QUEUE", def: "10", help: "concurrent jobs per queue (fetch, mse, zags, epgu, notify) in this process", set: posInt(&c.WorkersPerQueue)},
		{name: "HUB_RIVER_FETCH_COOLDOWN", def: "20ms", help: "least time between two fetches of jobs by one queue (River's FetchCooldown; at least 1ms)", set: dur(&c.RiverFetchCooldown)},
		{name: "HUB_RIVER_FETCH_POLL_INTERVAL", def: "500ms", help: "longest time a queue goes without fetching when no insert notification wakes it (River's FetchPollInterval)", set: dur(&c.RiverFetchPollInterval)},
		{name: "HUB_INTERMEDIATE_CA_DIR", def: "", help: "directory of intermediate CA certificates (PEM) chains may pass through besides those the CMS carries", set: str(&c.IntermediateCADir)},
		{name: "HUB_READ_TIMEOUT", def: "30s", help: "time allowed to read one whole request, body included", set: dur(&c.ReadTimeout)},
		{name: "HUB_MAX_LINKS", def: "50", help: "most LINKDOCS entries one referral may list (after duplicates merge)", set: posInt(&c.MaxLinks)},
		{name: "HUB_XML_MAX_DEPTH", def: "64", help: "deepest element nesting accepted in a document", set: posInt(&c.XMLMaxDepth)},
		{name: "HUB_XML_MAX_ATTRS", def: "64", help: "most attributes on one element", set: posInt(&c.XMLMaxAttrs)},
		{name: "HUB_XML_MAX_ATTR_BYTES", def: "65536", help: "largest attribute value in bytes", set: posInt(&c.XMLMaxAttrBytes)},
		{name: "HUB_XML_MAX_ELEMENTS", def: "200000", help: "most elements in one document", set: posInt(&c.XMLMaxElements)},
		{name: "HUB_CALLBACK_ALLOW_CIDRS", def: "", help: "comma-separated private networks МИС callbacks may reach (on-premise systems)", set: func(_ *Config, v string) error {
			c.CallbackAllowCIDRs = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					return err
				}
				c.CallbackAllowCIDRs = append(c.CallbackAllowCIDRs, p.Masked())
			}
			return nil
		}},
		{name: "HUB_CALLBACK_ALLOW_HTTP", def: "false", help: "allow plain-http callback URLs (https only otherwise)", set: func(_ *Config, v string) (err error) {
			c.CallbackAllowHTTP, err = strconv.ParseBool(v)
			return err
		}},
		{name: "HUB_XSD_DIR", def: "", help: "directory of official CDA schemas (<kind>/CDA.xsd with its includes) the door checks documents against; empty: the bundled ones", set: str(&c.XSDDir)},
		{name: "HUB_SCHEMATRON_DIR", def: "", help: "directory of official schematrons (*.sch) the door runs; empty: the bundled ones", set: str(&c.SchematronDir)},
		{name: "HUB_NSI_DIR", def: "", help: "directory of ФНСИ reference books (<OID>_<version>.json + .passport.json) for ФЛК level 2; empty: the bundled ones", set: str(&c.NSIDir)},
		{name: "HUB_NSI_CHECK", def: "true", help: "run ФЛК level 2 at the door: codes against the reference books, СНИЛС checksums, registered organisations", set: func(_ *Config, v string) (err error) {
			c.NSICheck, err = strconv.ParseBool(v)
			return err
		}},
		{name: "HUB_KINDS_POLL", def: "10s", help: "how often each process rereads the operators' active kind bundles besides LISTEN/NOTIFY (the fallback for a lost connection)", set: dur(&c.KindsPoll)},
		{name: "HUB_NSI_SETTINGS", def: "", help: "JSON file of per-book settings for ФЛК level 2 (skip, code, code+name; key and name columns) on top of the defaults", set: str(&c.NSISettings)},
		{name: "HUB_RESULT_DEADLINE", def: "720h", help: "a referral sent this long ago with no result is listed among the troubles", set: dur(&c.ResultDeadline)},
		// issue 14, metrics (branch ops)
		{name: "HUB_METRICS_ADDR", def: "", help: "listen address of the Prometheus /metrics endpoint, apart from the API (e.g. 127.0.0.1:9090); empty: no metrics endpoint", set: str(&c.MetricsAddr)},
		{name: "HUB_STATS_ROLLUP_INTERVAL", def: "1m", help: "how often attempts at the door are folded into the dashboards' roll-ups", set: dur(&c.StatsRollupInterval)},
		{name: "HUB_CONSOLE_SESSION_TTL", def: "12h", help: "how long an operator's console sign-in lasts", set: dur(&c.ConsoleSessionTTL)},
		// issue 16, partitions (branch partition)
		{name: "HUB_RETENTION_MONTHS", def: "0", help: "months of documents (with signatures, exchange log, attempts) kept; older month partitions are dropped unless they hold a live flow; 0: keep forever", set: func(_ *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("must be a whole number of months, 0 or more")
			}
			c.RetentionMonths = n
			return nil
		}},
		// issue 15, citizens (branch epgu)
		{name: "HUB_POLICY_CACHE_TTL", def: "10m", help: "how long the enrichment API reuses an ОМС policy registry answer", set: dur(&c.PolicyCacheTTL)},
		{name: "HUB_EPGU_DOCUMENT_NOTICES", def: "off", help: "on: tell citizens on ЕПГУ of their new documents (kind, organisation, date), one notice per citizen per day", set: func(_ *Config, v string) error {
			switch v {
			case "on":
				c.EPGUDocumentNotices = true
			case "off":
				c.EPGUDocumentNotices = false
			default:
				return fmt.Errorf("must be on or off")
			}
			return nil
		}},
		// issue 16, group commit (branch groupcommit)
		{name: "HUB_GROUP_COMMITTERS", def: "2", help: "submissions' group-commit batches that may commit at once (one transaction and WAL flush for the documents that queued behind a commit); 0: one transaction per document", set: func(_ *Config, v string) (err error) {
			c.GroupCommitters, err = strconv.Atoi(v)
			if err == nil && (c.GroupCommitters < 0 || c.GroupCommitters > 64) {
				err = fmt.Errorf("must be 0 to 64")
			}
			return err
		}},
	}
}

// Load reads the configuration from the environment through getenv
// (os.Getenv in production, a map in tests).
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var errs []string
	for _, o := range append(append([]option{}, options...), workflowOptions(c)...) {
		v := strings.TrimSpace(getenv(o.name))
		if o.secret {
			if f := getenv(o.name + "_FILE"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s_FILE: %v", o.name, err))
					continue
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			v = o.def
		}
		if v == "" {
			continue
		}
		if err := o.set(c, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", o.name, v, err))
		}
	}
	if len(errs) == 0 && (c.RiverFetchCooldown < time.Millisecond || c.RiverFetchPollInterval < c.RiverFetchCooldown) {
		errs = append(errs, fmt.Sprintf("HUB_RIVER_FETCH_COOLDOWN=%s must be at least 1ms and at most HUB_RIVER_FETCH_POLL_INTERVAL=%s", c.RiverFetchCooldown, c.RiverFetchPollInterval))
	}
	if len(errs) == 0 && c.RescueAfter <= c.JobTimeout() {
		errs = append(errs, fmt.Sprintf("HUB_RESCUE_AFTER=%s must exceed the job timeout %s (4 × HUB_SOAP_TIMEOUT + 5s)", c.RescueAfter, c.JobTimeout()))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Logger builds the slog logger the configuration asks for.
func (c *Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
