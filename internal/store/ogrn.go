package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store/dbsqlc"

	"github.com/emdhub/hub/internal/ids"
)

// ErrOGRNConflict means the organisation already has another ОГРН on record.
var ErrOGRNConflict = errors.New("store: the organisation has another ОГРН on record")

// SetOrganizationOGRN records the organisation's ОГРН (13 digits) or
// ОГРНИП (15). A recorded one is never silently replaced: another value
// fails with ErrOGRNConflict (an organisation keeps its registration
// number; a different one means a mistake in the OID or the number).
func (s *Store) SetOrganizationOGRN(ctx context.Context, db DBTX, orgID uuid.UUID, ogrn string) error {
	if err := ids.ValidateOrgOGRN(ogrn); err != nil {
		return fmt.Errorf("store: organisation ОГРН: %w", err)
	}
	_, err := queries.SetOrganizationOGRN(ctx, db, &dbsqlc.SetOrganizationOGRNParams{ID: orgID, Ogrn: &ogrn})
	if errors.Is(err, pgx.ErrNoRows) {
		exists, err := queries.OrganizationExists(ctx, db, orgID)
		if err != nil {
			return fmt.Errorf("store: set organisation ОГРН: %w", err)
		}
		if !exists {
			return fmt.Errorf("store: organisation %s: %w", orgID, ErrNotFound)
		}
		return ErrOGRNConflict // its own message is what the API shows
	}
	if err != nil {
		return fmt.Errorf("store: set organisation ОГРН: %w", err)
	}
	return nil
}

// OrganizationOGRN is the ОГРН recorded for the organisation with that OID;
// "" when the organisation is unknown or has none on record.
func (s *Store) OrganizationOGRN(ctx context.Context, oid string) (string, error) {
	ogrn, err := queries.OrganizationOGRNByOID(ctx, s.Pool, oid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ogrn == nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: organisation ОГРН of %s: %w", oid, err)
	}
	return *ogrn, nil
}

// RecordOrganizationOGRN records the ОГРН of an organisation already known
// by its OID, for organisations registered before the ОГРН was asked for.
func (s *Store) RecordOrganizationOGRN(ctx context.Context, orgOID, ogrn string) (*Organization, error) {
	r, err := queries.OrganizationByOID(ctx, s.Pool, orgOID)
	if err != nil {
		return nil, notFound(err, "organisation "+orgOID)
	}
	o := Organization{ID: r.ID, OID: r.Oid, Name: r.Name, Region: r.Region, CreatedAt: r.CreatedAt}
	if err := s.SetOrganizationOGRN(ctx, s.Pool, o.ID, ogrn); err != nil {
		return nil, err
	}
	o.OGRN = ogrn
	return &o, nil
}
