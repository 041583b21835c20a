package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	var current *string
	err := db.QueryRow(ctx, `UPDATE organizations SET ogrn = $2 WHERE id = $1 AND (ogrn IS NULL OR ogrn = $2) RETURNING ogrn`, orgID, ogrn).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)`, orgID).Scan(&exists); err != nil {
			return fmt.Errorf("store: set organisation ОГРН: %w", err)
		}
		if !exists {
			return fmt.Errorf("store: organisation %s: %w", orgID, ErrNotFound)
		}
		return ErrOGRNConflict
	}
	if err != nil {
		return fmt.Errorf("store: set organisation ОГРН: %w", err)
	}
	return nil
}

// OrganizationOGRN is the ОГРН recorded for the organisation with that OID;
// "" when the organisation is unknown or has none on record.
func (s *Store) OrganizationOGRN(ctx context.Context, oid string) (string, error) {
	var ogrn *string
	err := s.Pool.QueryRow(ctx, `SELECT ogrn FROM organizations WHERE oid = $1`, oid).Scan(&ogrn)
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
	var o Organization
	err := s.Pool.QueryRow(ctx, `SELECT id, oid, name, region, created_at FROM organizations WHERE oid = $1`, orgOID).
		Scan(&o.ID, &o.OID, &o.Name, &o.Region, &o.CreatedAt)
	if err != nil {
		return nil, notFound(err, "organisation "+orgOID)
	}
	if err := s.SetOrganizationOGRN(ctx, s.Pool, o.ID, ogrn); err != nil {
		return nil, err
	}
	o.OGRN = ogrn
	return &o, nil
}
