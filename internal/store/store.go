// Package store is the hub's data access layer over pgx: organisations,
// information systems, API keys and documents, and the workflow's flows —
// each flow's states and guarded transitions in flows.go (a lost race is
// ErrStaleTransition), the steps' reads and writes in flowdata.go and
// exchange.go, what the API shows in views.go. All of the package's SQL —
// the flows' and that of organisations, keys, the audit log, callbacks,
// documents and signer certificates — is in queries/*.sql, compiled by sqlc
// into dbsqlc; no Go file here holds SQL text (TestStoreHoldsNoSQL).
// Every function takes a context and returns errors wrapped with the
// operation; ErrNotFound, ErrStaleTransition and *ConflictError are the
// errors callers branch on.
package store

// The queries are in queries/*.sql, compiled by sqlc (a go tool of
// this module, configured in the repository's sqlc.yaml) into dbsqlc.
//go:generate go tool sqlc generate -f ../../sqlc.yaml

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound means no row is visible to the caller.
//
// (X.509 signer certificates are in signer_certificates.go; the
// civil-registration certificates the workflow delivers are "deliveries".)
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate means a unique name is already taken.
var ErrDuplicate = errors.New("store: already exists")

// DBTX is what both *pgxpool.Pool and pgx.Tx offer, so methods can run
// inside a caller's transaction (the workflow commits state and jobs together).
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store wraps the pool.
type Store struct {
	Pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool} }

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
