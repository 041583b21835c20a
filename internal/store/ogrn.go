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

// RegisterSystemWithOGRN is RegisterSystem that also records the
// organisation's ОГРН (see SetOrganizationOGRN), all in one transaction;
// an empty ogrn records nothing.
func (s *Store) RegisterSystemWithOGRN(ctx context.Context, orgOID, orgName, orgOGRN, systemName string) (*Registration, error) {
	if orgOGRN != "" {
		if err := ids.ValidateOrgOGRN(orgOGRN); err != nil {
			return nil, fmt.Errorf("store: organisation ОГРН: %w", err)
		}
	}
	var reg Registration
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		org, err := s.EnsureOrganization(ctx, tx, orgOID, orgName)
		if err != nil {
			return err
		}
		if orgOGRN != "" {
			if err := s.SetOrganizationOGRN(ctx, tx, org.ID, orgOGRN); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(ogrn, '') FROM organizations WHERE id = $1`, org.ID).Scan(&org.OGRN); err != nil {
			return fmt.Errorf("store: organisation ОГРН: %w", err)
		}
		sys, err := s.CreateSystem(ctx, tx, org.ID, systemName)
		if err != nil {
			return err
		}
		key, err := s.CreateKey(ctx, tx, RoleMIS, &sys.ID, systemName)
		if err != nil {
			return err
		}
		reg = Registration{Organization: org, System: sys, APIKey: key}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &reg, nil
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
