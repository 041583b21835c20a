// Package dbavail tells "the database is unavailable" apart from every other
// database error, in one place, so the API can answer 503 DB_UNAVAILABLE
// with Retry-After (a client should simply retry) instead of 500
// INTERNAL_ERROR (a bug to report), and so logs can say it once per
// interval instead of once per request or per worker poll.
//
// Unavailable means: the server cannot be reached (connection refused,
// reset, dial failure or timeout), it is starting up, shutting down or
// restarting (SQLSTATE 57P01, 57P02, 57P03), the connection failed (class
// 08), or it refuses connections (53300 too_many_connections).
package dbavail

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryAfterSeconds is what the API sends in Retry-After with DB_UNAVAILABLE:
// a restart usually takes a few seconds.
const RetryAfterSeconds = 5

// Unavailable reports whether err means the database cannot serve at the
// moment (as opposed to a query, constraint or programming error, or the
// caller's own deadline running out).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailableState(pe.Code)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// Could not connect at all: refused, unreachable, timed out, or the
		// server answered the start-up with one of the states above (then
		// the PgError branch has already decided). A caller that went away
		// during the dial is not an outage.
		return !errors.Is(err, context.Canceled)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // a query that ran out of the caller's time
	}
	if errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	// A server that went away mid-query: the socket fails under pgconn.
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return true
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return UnavailableText(err.Error())
}

func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case code == "57P01", code == "57P02", code == "57P03": // admin/crash shutdown, cannot connect now
		return true
	case code == "53300": // too_many_connections
		return true
	}
	return false
}

// textMarks are the fragments of pgx's and PostgreSQL's error text that mean
// the same as Unavailable, for log records that carry an error only as a
// string (River logs slog.String("err", err.Error())). They are specific to
// the database driver, so a peer's "connection refused" is not taken for
// the database's.
var textMarks = []string{
	"SQLSTATE 08", "SQLSTATE 57P01", "SQLSTATE 57P02", "SQLSTATE 57P03", "SQLSTATE 53300",
	"failed to connect to `", // pgconn.ConnectError
	"receive message failed", // pgconn: the server's socket broke mid-query
	"conn closed",            // pgconn.ErrConnClosed
	"closed pool",            // puddle.ErrClosedPool: the hub shutting down
}

// UnavailableText is Unavailable for an error already turned into text.
func UnavailableText(s string) bool {
	if strings.Contains(s, "failed to connect to `") {
		return !strings.Contains(s, context.Canceled.Error())
	}
	if strings.Contains(s, context.Canceled.Error()) || strings.Contains(s, context.DeadlineExceeded.Error()) || strings.Contains(s, "timeout:") {
		return false
	}
	for _, m := range textMarks {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
