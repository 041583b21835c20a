package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/store/dbsqlc"
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
		return nil, fmt.Errorf("store: organisation id: %w", err)
	}
	o, err := queries.EnsureOrganization(ctx, db, &dbsqlc.EnsureOrganizationParams{ID: id, Oid: oid, Name: name, Region: region})
	if err != nil {
		return nil, fmt.Errorf("store: ensure organisation %s: %w", oid, err)
	}
	return &Organization{ID: o.ID, OID: o.Oid, Name: o.Name, Region: o.Region, CreatedAt: o.CreatedAt}, nil
}

// CreateSystem registers an information system of an organisation.
func (s *Store) CreateSystem(ctx context.Context, db DBTX, orgID uuid.UUID, name string) (*System, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("store: system id: %w", err)
	}
	sys := System{ID: id, OrganizationID: orgID, Name: name}
	sys.CreatedAt, err = queries.CreateSystem(ctx, db, &dbsqlc.CreateSystemParams{ID: id, OrganizationID: orgID, Name: name})
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
		return uuid.Nil, "", fmt.Errorf("store: key id: %w", err)
	}
	if err := queries.CreateKey(ctx, db, &dbsqlc.CreateKeyParams{ID: id, KeyHash: HashKey(key), Role: role, SystemID: systemID, Name: name}); err != nil {
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
	k, err := queries.Authenticate(ctx, s.Pool, HashKey(key))
	if err != nil {
		return nil, notFound(err, "authenticate")
	}
	p := Principal{KeyID: k.ID, Role: k.Role, Name: k.Name}
	if k.SysID != nil {
		p.SystemID, p.SystemName, p.OrgID, p.OrgOID, p.OrgName = *k.SysID, *k.SysName, *k.OrgID, *k.Oid, *k.OrgName
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
	rows, err := queries.ListSystems(ctx, s.Pool)
	if err != nil {
		return nil, fmt.Errorf("store: list systems: %w", err)
	}
	out := make([]SystemWithOrg, len(rows))
	for i, r := range rows {
		out[i] = SystemWithOrg{System: System{ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, CreatedAt: r.CreatedAt},
			OrgOID: r.OrgOid, OrgName: r.OrgName, OrgRegion: r.OrgRegion}
	}
	return out, nil
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
		if org.OGRN, err = queries.OrganizationOGRNByID(ctx, tx, org.ID); err != nil {
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
	if errors.Is(err, ErrDuplicate) || errors.Is(err, ErrOGRNConflict) {
		return nil, err // the API shows these as they are
	}
	if err != nil {
		return nil, fmt.Errorf("store: register system %q of %s: %w", systemName, orgOID, err)
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
	if err != nil {
		return nil, fmt.Errorf("store: create operator key %q: %w", name, err)
	}
	return out, nil
}
