package dbavail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/emdhub/hub/internal/dbavail"
)

// refusedDial connects to a loopback port nobody listens on: the real error
// a stopped server gives.
func refusedDial(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgconn.Connect(ctx, fmt.Sprintf("postgres://hub@127.0.0.1:%d/hub?sslmode=disable&connect_timeout=5", addr.Port))
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	return err
}

func TestUnavailable(t *testing.T) {
	refused := refusedDial(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, dialCancelled := pgconn.Connect(cancelled, "postgres://hub@127.0.0.1:1/hub?sslmode=disable")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"connection refused, wrapped", fmt.Errorf("store: authenticate: %w", refused), true},
		{"starting up", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{"admin shutdown", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"connection failure class", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"cut stream", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"invalid byte sequence", &pgconn.PgError{Code: "22021"}, false},
		{"query ran out of the caller's time", fmt.Errorf("q: %w", context.DeadlineExceeded), false},
		{"caller went away during the dial", dialCancelled, false},
		{"plain error", errors.New("no rows in result set"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dbavail.Unavailable(tt.err); got != tt.want {
				t.Fatalf("Unavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	// The same judgement on text, for loggers that get only err.Error().
	for _, tt := range tests[:7] {
		if !dbavail.UnavailableText(tt.err.Error()) {
			t.Errorf("UnavailableText(%q) = false", tt.err.Error())
		}
	}
	for _, s := range []string{"SOAP call: dial tcp 127.0.0.1:9101: connect: connection refused", "syntax error (SQLSTATE 42601)", "receive message failed: timeout: context deadline exceeded"} {
		if dbavail.UnavailableText(s) {
			t.Errorf("UnavailableText(%q) = true", s)
		}
	}
}
