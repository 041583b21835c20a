package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// CallbackSecretGrace is how long the previous callback secret keeps
// signing after a rotation: every notification carries both signatures
// meanwhile, so a МИС deploys the new secret without a gap.
const CallbackSecretGrace = 24 * time.Hour

func newSecret() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("store: secret entropy: %w", err)
	}
	return b, nil
}

// SetCallback sets (or, with "", clears) a system's callback URL, which
// the caller has checked against the address policy. The first time a
// system gets a URL it also gets its HMAC secret, returned once; later
// calls keep the secret (rotate it with RotateCallbackSecret), so setting
// the same URL again changes nothing a receiver relies on. Audited in the
// same transaction.
func (s *Store) SetCallback(ctx context.Context, a Actor, systemID uuid.UUID, url string) (secret []byte, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		has, err := queries.LockCallbackSecret(ctx, tx, systemID)
		if err != nil {
			return notFound(err, "system "+systemID.String())
		}
		if !has && url != "" {
			if secret, err = newSecret(); err != nil {
				return err
			}
		}
		var u *string
		if url != "" {
			u = &url
		}
		if err := queries.SetCallback(ctx, tx, &dbsqlc.SetCallbackParams{ID: systemID, Url: u, Secret: secret}); err != nil {
			return fmt.Errorf("store: set callback: %w", err)
		}
		// The URL is the owner's, but who pointed the hub where is exactly
		// what an investigation needs.
		return s.Audit(ctx, tx, a, AuditCallbackSet, nil, &systemID, map[string]any{"url": url, "secret_issued": secret != nil})
	})
	if err != nil {
		return nil, fmt.Errorf("store: set callback of system %s: %w", systemID, err)
	}
	return secret, nil
}

// RotateCallbackSecret issues a new callback secret, returned once. The
// current one becomes the previous secret and keeps signing until
// previousUntil (now + grace); a previous secret still in its grace period
// is dropped at once (only two secrets sign at a time). Audited.
func (s *Store) RotateCallbackSecret(ctx context.Context, a Actor, systemID uuid.UUID, grace time.Duration) (secret []byte, previousUntil *time.Time, err error) {
	secret, err = newSecret()
	if err != nil {
		return nil, nil, err
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		previousUntil, err = queries.RotateCallbackSecret(ctx, tx, &dbsqlc.RotateCallbackSecretParams{ID: systemID, Secret: secret, GraceUs: grace.Microseconds()})
		if err != nil {
			return notFound(err, "system "+systemID.String())
		}
		return s.Audit(ctx, tx, a, AuditCallbackRotated, nil, &systemID, map[string]any{"previous_valid_until": previousUntil})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: rotate callback secret of system %s: %w", systemID, err)
	}
	return secret, previousUntil, nil
}

// Callback is a system's callback settings as its owner sees them.
type Callback struct {
	URL                 string     `json:"url"`
	SecretIssued        bool       `json:"secret_issued"`
	PreviousSecretUntil *time.Time `json:"previous_secret_valid_until"` // nil: one secret signs
}

// CallbackOf reads a system's callback settings.
func (s *Store) CallbackOf(ctx context.Context, systemID uuid.UUID) (*Callback, error) {
	r, err := queries.CallbackOf(ctx, s.Pool, systemID)
	if err != nil {
		return nil, notFound(err, "system "+systemID.String())
	}
	c := Callback{SecretIssued: r.SecretIssued}
	if r.CallbackUrl != nil {
		c.URL = *r.CallbackUrl
	}
	if r.PreviousStillSigns {
		c.PreviousSecretUntil = r.CallbackSecretPrevUntil
	}
	return &c, nil
}
