package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes as "250ms" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = Duration(n)
	return err
}

// Window is a period during which the peer is down.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Faults is the fault injection of one operation. Rates are probabilities
// in [0,1], drawn independently per request in the order: outage, HTTP 5xx,
// transient fault, rate limit, permanent fault, hang.
type Faults struct {
	// LatencyMin..LatencyMax: uniform delay added before answering.
	LatencyMin Duration `json:"latency_min,omitempty"`
	LatencyMax Duration `json:"latency_max,omitempty"`
	// HTTP5xx: a bare HTTP 502 with no SOAP envelope (a proxy in the way).
	HTTP5xx float64 `json:"http5xx,omitempty"`
	// Transient: SOAP fault INTERNAL_ERROR (HTTP 500); the request is not processed.
	Transient float64 `json:"transient,omitempty"`
	// RateLimit: SOAP fault RATE_LIMIT (HTTP 500); not processed.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Permanent: SOAP fault VALIDATION_ERROR (HTTP 500); not processed.
	Permanent float64 `json:"permanent,omitempty"`
	// Hang: the request IS processed, but the answer never comes: the
	// connection is held until the client gives up (its deadline), so a retry
	// must be recognised as a duplicate.
	Hang float64 `json:"hang,omitempty"`
	// Outages: while now is inside a window, every request gets HTTP 503 with
	// SOAP fault SERVICE_UNAVAILABLE.
	Outages []Window `json:"outages,omitempty"`
}

// ParseFaultSpec reads the compact flag form used by `hub sim -faults`:
//
//	peer.op:key=value,key=value;peer.op2:...
//
// peer is mse, zags, epgu, provider or policy; op is an operation name or *.
// Keys: latency=5ms..20ms (or one value), http5xx, transient, rate_limit,
// permanent, hang (rates 0..1), outage=START+DURATION relative to now
// (e.g. outage=10s+30s: down from 10 s to 40 s after start).
func ParseFaultSpec(spec string, now time.Time) (map[string]map[string]Faults, error) {
	out := map[string]map[string]Faults{}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, kvs, ok := strings.Cut(part, ":")
		peer, op, ok2 := strings.Cut(target, ".")
		if !ok || !ok2 || peer == "" || op == "" {
			return nil, fmt.Errorf("sim: fault spec %q: want peer.op:key=value,...", part)
		}
		var f Faults
		for _, kv := range strings.Split(kvs, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return nil, fmt.Errorf("sim: fault spec %q: %q is not key=value", part, kv)
			}
			if err := f.set(k, v, now); err != nil {
				return nil, fmt.Errorf("sim: fault spec %q: %w", part, err)
			}
		}
		if out[peer] == nil {
			out[peer] = map[string]Faults{}
		}
		out[peer][op] = f
	}
	return out, nil
}

func (f *Faults) set(k, v string, now time.Time) error {
	rate := func(dst *float64) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			return fmt.Errorf("%s=%s: want a rate in [0,1]", k, v)
		}
		*dst = x
		return nil
	}
	switch k {
	case "latency":
		lo, hi, ok := strings.Cut(v, "..")
		a, err := time.ParseDuration(lo)
		if err != nil {
			return fmt.Errorf("latency=%s: %w", v, err)
		}
		b := a
		if ok {
			if b, err = time.ParseDuration(hi); err != nil || b < a {
				return fmt.Errorf("latency=%s: want MIN..MAX", v)
			}
		}
		f.LatencyMin, f.LatencyMax = Duration(a), Duration(b)
	case "http5xx":
		return rate(&f.HTTP5xx)
	case "transient":
		return rate(&f.Transient)
	case "rate_limit":
		return rate(&f.RateLimit)
	case "permanent":
		return rate(&f.Permanent)
	case "hang":
		return rate(&f.Hang)
	case "outage":
		start, dur, ok := strings.Cut(v, "+")
		if !ok {
			start, dur = "0s", v
		}
		s, err1 := time.ParseDuration(start)
		d, err2 := time.ParseDuration(dur)
		if err1 != nil || err2 != nil || d <= 0 {
			return fmt.Errorf("outage=%s: want START+DURATION, e.g. 10s+30s", v)
		}
		f.Outages = append(f.Outages, Window{Start: now.Add(s), End: now.Add(s + d)})
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}
