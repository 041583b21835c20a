// Package metrics is the hub's Prometheus instrumentation: what the door,
// the signature checks, the ФЛК and the peers' calls observe, and what is
// read when /metrics is scraped (queues, River jobs, breakers, the pool).
//
// The observation functions (Intake, SignatureVerified, Schematron,
// Exchange) take plain values and are process-wide, as Prometheus counters
// conventionally are: the packages that call them need no Prometheus types,
// and a call is a one-liner at the place where the thing happens. Gauges
// that describe the database or one App's engine are read at scrape time
// by the collectors NewRegistry builds (collect.go).
//
// /metrics is served on its own listen address (HUB_METRICS_ADDR), not
// behind operator keys on the API port: authenticating a key needs the
// database, and metrics matter most when the database is the thing that
// is down; a scraper carries no per-operator secret that can leak or be
// revoked by mistake; and a separate port is kept to the monitoring
// network by the firewall, in every mode (worker processes have no API).
package metrics

import (
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric of the hub.
const Namespace = "hub"

// Intake outcomes.
const (
	OutcomeAccepted = "accepted" // a new document stored (201)
	OutcomeRepeat   = "repeat"   // an idempotent repeat (200)
	OutcomeRefused  = "refused"  // a coded refusal (4xx)
	OutcomeError    = "error"    // the hub could not decide (5xx: database down, internal error)
)

// Latency buckets: SOAP calls and signature checks range from a
// millisecond to the SOAP timeout.
var (
	callBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	cpuBuckets  = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

var (
	intakeTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "intake_total",
		Help: "Documents submitted at the door, by outcome (accepted, repeat, refused, error), error code (empty when accepted) and declared kind (НСИ 1520; \"other\" for a code that is not a kind).",
	}, []string{"outcome", "code", "kind"})
	signatureSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "signature_verify_seconds", Buckets: cpuBuckets,
		Help: "Cryptographic verifications of detached CMS signatures (parse, digest, GOST signature, chain), by result (ok or the registry code); _count is the number of verifications. Cache hits are not counted.",
	}, []string{"result"})
	schematronSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "schematron_seconds", Buckets: cpuBuckets,
		Help: "Time spent on the official schematron (ФЛК level 1, parse and validate) per document, by kind.",
	}, []string{"kind"})
	exchangeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "exchange_seconds", Buckets: callBuckets,
		Help: "Calls to peers as settled in the exchange log, by peer, operation and outcome (ok, duplicate, transient, unavailable, rate_limited, permanent, timeout, …); _count is the number of calls.",
	}, []string{"peer", "operation", "outcome"})
)

// processCollectors are the process-wide observations, registered into
// every registry NewRegistry builds (a collector may be in several).
var processCollectors = []prometheus.Collector{intakeTotal, signatureSeconds, schematronSeconds, exchangeSeconds, dictionaryUnchecked}

// dictionaryUnchecked counts the reference books accepted documents name
// that ФЛК level 2 did not check (issue 12: reported, never passed): an
// operator sees which books the hub should be given.
var dictionaryUnchecked = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: Namespace, Name: "dictionary_unchecked_total",
	Help: "Reference books named by accepted documents whose codes ФЛК level 2 did not check, by book OID (\"other\" past 256 distinct books or for an OID outside ФНСИ's arcs), reason (not held, skipped by setting) and kind.",
}, []string{"book", "reason", "kind"})

// bookLabels bounds the book label: the OIDs come from documents, so only
// the ФНСИ's own arcs are labels, and at most maxBookLabels distinct ones.
var bookLabels = struct {
	sync.Mutex
	seen map[string]bool
}{seen: map[string]bool{}}

const maxBookLabels = 256

var bookShape = regexp.MustCompile(`^1\.2\.643\.5\.1\.13\.(13\.11|13\.99\.2|2\.1\.1)\.[0-9]{1,6}$`)

func bookLabel(oid string) string {
	if !bookShape.MatchString(oid) {
		return "other"
	}
	bookLabels.Lock()
	defer bookLabels.Unlock()
	if !bookLabels.seen[oid] {
		if len(bookLabels.seen) >= maxBookLabels {
			return "other"
		}
		bookLabels.seen[oid] = true
	}
	return oid
}

// DictionaryUnchecked counts one book an accepted document named that was not checked.
func DictionaryUnchecked(kind, book, reason string) {
	if reason != "not held" && reason != "skipped by setting" {
		reason = "other"
	}
	dictionaryUnchecked.WithLabelValues(bookLabel(book), reason, kindLabel(kind)).Inc()
}

// kindLabel keeps the kind label to the codes НСИ 1520 can have: the
// declared kind comes from the client, and an unbounded label would let
// any caller grow the scrape without limit.
var kindShape = regexp.MustCompile(`^[0-9]{1,4}$`)

func kindLabel(kind string) string {
	switch {
	case kind == "":
		return "none"
	case kindShape.MatchString(kind):
		return kind
	default:
		return "other"
	}
}

// codeShape bounds the code label the same way: the hub's codes are
// upper-case words.
var codeShape = regexp.MustCompile(`^[A-Z0-9_]{1,64}$`)

func codeLabel(code string) string {
	if code == "" || code == "ok" || codeShape.MatchString(code) {
		return code
	}
	return "OTHER"
}

// Intake counts one decision of the door.
func Intake(kind, outcome, code string) {
	intakeTotal.WithLabelValues(outcome, codeLabel(code), kindLabel(kind)).Inc()
}

// SignatureVerified records one cryptographic verification: result is
// "ok" or the registry code it failed with.
func SignatureVerified(result string, d time.Duration) {
	if result == "" {
		result = "ok"
	}
	signatureSeconds.WithLabelValues(codeLabel(result)).Observe(d.Seconds())
}

// Schematron records the ФЛК time of one document of kind, measured from
// start: `defer metrics.Schematron(kind, time.Now())`.
func Schematron(kind string, start time.Time) {
	schematronSeconds.WithLabelValues(kindLabel(kind)).Observe(time.Since(start).Seconds())
}

// Exchange records one call to a peer as it settles in the exchange log.
func Exchange(peer, operation, outcome string, d time.Duration) {
	exchangeSeconds.WithLabelValues(peer, operation, outcome).Observe(d.Seconds())
}
