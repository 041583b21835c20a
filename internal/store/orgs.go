package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/ids"
)

// Organization is a medical organisation (МО) identified by its ФРМО OID.
type Organization struct {
	ID        uuid.UUID `json:"id"`
	OID       string    `json:"oid"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	OGRN      string    `json:"ogrn,omitempty"` // recorded by the operator (ogrn.go); "" when none
	CreatedAt time.Time `json:"created_at"`
}

// System is an information system (МИС) of one organisation.
type System struct {
	ID             uuid.UUID `json:"id"`
	OrganizationID uuid.UUID `json:"organization_id"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"created_at"`
}

// Roles a key can have.
const (
	RoleMIS      = "mis"
	RoleOperator = "operator"
)

// Principal is who an API key belongs to.
type Principal struct {
	KeyID      uuid.UUID
	Role       string
	Name       string
	SystemID   uuid.UUID // zero for operators
	SystemName string
	OrgID      uuid.UUID // zero for operators
	OrgOID     string
	OrgName    string
}

// EnsureOrganization creates the organisation or returns the existing one
// with that OID. The region is taken from the OID; OIDs outside the ФРМО
// branch are refused because the dashboards group by region.
func (s *Store) EnsureOrganization(ctx context.Context, db DBTX, oid, name string) (*Organization, error) {
	region, ok := ids.RegionFromMOOID(oid)
	if !ok {
		return nil, fmt.Errorf("store: organisation OID %q is not a ФРМО OID (%s<region>.<n>)", oid, ids.MOOIDPrefix)
	}
	if name == "" {
		return nil, fmt.Errorf("store: organisation name is required")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var o Organization
	err = db.QueryRow(ctx, `
		INSERT INTO organizations (id, oid, name, region) VALUES ($1, $2, $3, $4)
		ON CONFLICT (oid) DO UPDATE SET oid = EXCLUDED.oid
		RETURNING id, oid, name, region, created_at`, id, oid, name, region).
		Scan(&o.ID, &o.OID, &o.Name, &o.Region, &o.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("store: ensure organisation %s: %w", oid, err)
	}
	return &o, nil
}

// CreateSystem registers an information system of an organisation.
func (s *Store) CreateSystem(ctx context.Context, db DBTX, orgID uuid.UUID, name string) (*System, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	sys := System{ID: id, OrganizationID: orgID, Name: name}
	err = db.QueryRow(ctx, `INSERT INTO information_systems (id, organization_id, name) VALUES ($1, $2, $3) RETURNING created_at`,
		id, orgID, name).Scan(&sys.CreatedAt)
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("system %q in this organisation: %w", name, ErrDuplicate)
	}
	if err != nil {
		return nil, fmt.Errorf("store: create system: %w", err)
	}
	return &sys, nil
}

// keyPrefix marks hub API keys so leaked ones are easy to grep for.
const keyPrefix = "hub_"

// HashKey is how keys are stored: SHA-256 of the whole key string.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateKey makes a new API key and returns it in clear once; only its hash is stored.
func (s *Store) CreateKey(ctx context.Context, db DBTX, role string, systemID *uuid.UUID, name string) (string, error) {
	_, key, err := createKey(ctx, db, role, systemID, name)
	return key, err
}

// createKey is CreateKey that also returns the new key's id.
func createKey(ctx context.Context, db DBTX, role string, systemID *uuid.UUID, name string) (uuid.UUID, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return uuid.Nil, "", fmt.Errorf("store: key entropy: %w", err)
	}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, "", err
	}
	if _, err := db.Exec(ctx, `INSERT INTO api_keys (id, key_hash, role, system_id, name) VALUES ($1, $2, $3, $4, $5)`,
		id, HashKey(key), role, systemID, name); err != nil {
		return uuid.Nil, "", fmt.Errorf("store: create key: %w", err)
	}
	return id, key, nil
}

// Authenticate resolves an API key to its principal. Revoked keys (a
// revoked_at in the past: a rotation's overlap ends then) and keys of
// disabled systems are not found. Nothing is cached: a revocation takes
// effect on the next request. The same statement notes when the key was
// last used, writing at most once a minute per key so busy keys do not
// turn every request into a row update (and skipping the write when a
// concurrent request holds the row, so a burst never queues on it).
func (s *Store) Authenticate(ctx context.Context, key string) (*Principal, error) {
	var p Principal
	var sysID, orgID *uuid.UUID
	var sysName, orgOID, orgName *string
	err := s.Pool.QueryRow(ctx, `
		WITH k AS (
			SELECT k.id, k.role, k.name, k.last_used_at, s.id AS sys_id, s.name AS sys_name, o.id AS org_id, o.oid, o.name AS org_name
			FROM api_keys k
			LEFT JOIN information_systems s ON s.id = k.system_id
			LEFT JOIN organizations o ON o.id = s.organization_id
			WHERE k.key_hash = $1 AND (k.revoked_at IS NULL OR k.revoked_at > now()) AND (k.system_id IS NULL OR s.disabled_at IS NULL)
		), used AS (
			UPDATE api_keys SET last_used_at = now()
			WHERE id = (SELECT a.id FROM api_keys a JOIN k ON k.id = a.id
				WHERE a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute'
				FOR UPDATE OF a SKIP LOCKED)
		)
		SELECT id, role, name, sys_id, sys_name, org_id, oid, org_name FROM k`,
		HashKey(key)).Scan(&p.KeyID, &p.Role, &p.Name, &sysID, &sysName, &orgID, &orgOID, &orgName)
	if err != nil {
		return nil, notFound(err, "authenticate")
	}
	if sysID != nil {
		p.SystemID, p.SystemName, p.OrgID, p.OrgOID, p.OrgName = *sysID, *sysName, *orgID, *orgOID, *orgName
	}
	return &p, nil
}

// SystemWithOrg is a system joined with its organisation, for operator views.
type SystemWithOrg struct {
	System
	OrgOID    string `json:"organization_oid"`
	OrgName   string `json:"organization_name"`
	OrgRegion string `json:"region"`
}

// ListSystems returns every information system with its organisation.
func (s *Store) ListSystems(ctx context.Context) ([]SystemWithOrg, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT s.id, s.organization_id, s.name, s.created_at, o.oid, o.name, o.region
		FROM information_systems s JOIN organizations o ON o.id = s.organization_id
		ORDER BY o.oid, s.name`)
	if err != nil {
		return nil, fmt.Errorf("store: list systems: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SystemWithOrg, error) {
		var x SystemWithOrg
		err := r.Scan(&x.ID, &x.OrganizationID, &x.Name, &x.CreatedAt, &x.OrgOID, &x.OrgName, &x.OrgRegion)
		return x, err
	})
}

// Registration is what RegisterSystem creates.
type Registration struct {
	Organization *Organization `json:"organization"`
	System       *System       `json:"system"`
	KeyID        uuid.UUID     `json:"key_id"`
	APIKey       string        `json:"api_key"`
}

// RegisterSystem creates (or reuses) the organisation, creates the system and
// its first API key, in one transaction. Nothing is audited: callers acting
// for an operator use RegisterSystemAs.
func (s *Store) RegisterSystem(ctx context.Context, orgOID, orgName, systemName string) (*Registration, error) {
	return s.registerSystem(ctx, nil, orgOID, orgName, "", systemName)
}

// RegisterSystemWithOGRN is RegisterSystem that also records the
// organisation's ОГРН (see SetOrganizationOGRN), all in one transaction;
// an empty ogrn records nothing.
func (s *Store) RegisterSystemWithOGRN(ctx context.Context, orgOID, orgName, orgOGRN, systemName string) (*Registration, error) {
	return s.registerSystem(ctx, nil, orgOID, orgName, orgOGRN, systemName)
}

// RegisterSystemAs is RegisterSystem recorded in the audit log (action
// system.register, the new key as target) in the same transaction.
// An empty orgOGRN records nothing.
func (s *Store) RegisterSystemAs(ctx context.Context, a Actor, orgOID, orgName, orgOGRN, systemName string) (*Registration, error) {
	return s.registerSystem(ctx, &a, orgOID, orgName, orgOGRN, systemName)
}

func (s *Store) registerSystem(ctx context.Context, a *Actor, orgOID, orgName, orgOGRN, systemName string) (*Registration, error) {
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
		keyID, key, err := createKey(ctx, tx, RoleMIS, &sys.ID, systemName)
		if err != nil {
			return err
		}
		reg = Registration{Organization: org, System: sys, KeyID: keyID, APIKey: key}
		if a == nil {
			return nil
		}
		return s.Audit(ctx, tx, *a, AuditSystemRegister, &keyID, &sys.ID, map[string]any{"organization_oid": org.OID, "system": systemName})
	})
	if err != nil {
		return nil, err
	}
	return &reg, nil
}

// CreateOperator creates an operator key.
func (s *Store) CreateOperator(ctx context.Context, name string) (string, error) {
	return s.CreateKey(ctx, s.Pool, RoleOperator, nil, name)
}

// CreateOperatorAs creates an operator key, recorded in the audit log
// (action key.issue, role operator) in the same transaction.
func (s *Store) CreateOperatorAs(ctx context.Context, a Actor, name string) (*IssuedKey, error) {
	var out *IssuedKey
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		k, err := s.issue(ctx, tx, RoleOperator, nil, name)
		if err != nil {
			return err
		}
		out = k
		return s.Audit(ctx, tx, a, AuditKeyIssue, &k.Key.ID, nil, map[string]any{"name": name, "role": RoleOperator})
	})
	return out, err
}
