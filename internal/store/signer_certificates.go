package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// ExpiringCertificate is a signer certificate seen in the hub's documents,
// as used by one information system of one organisation.
type ExpiringCertificate struct {
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	Serial       string    `json:"serial"`
	OGRN         string    `json:"ogrn,omitempty"`
	SNILS        string    `json:"snils,omitempty"`
	Role         string    `json:"role"`
	KeyBits      int       `json:"key_bits"`
	NotAfter     time.Time `json:"not_after"`
	DaysLeft     int       `json:"days_left"`
	Organization OrgRef    `json:"organization"`
	System       SystemRef `json:"system"`
	Documents    int       `json:"documents"`     // documents this system sent signed with it
	LastSeen     time.Time `json:"last_seen"`     // when the newest of them was received
	Waiting      int       `json:"waiting_on_it"` // deliveries and referrals not yet sent that it signs
}

// OrgRef names an organisation.
type OrgRef struct {
	ID     uuid.UUID `json:"id"`
	OID    string    `json:"oid"`
	Name   string    `json:"name"`
	Region string    `json:"region"`
}

// SystemRef names an information system.
type SystemRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// ExpiringCertificates lists the certificates that stop being valid in
// [now, now+within), soonest first, by organisation and system; orgID
// uuid.Nil means every organisation (operators).
func (s *Store) ExpiringCertificates(ctx context.Context, orgID uuid.UUID, now time.Time, within time.Duration, limit int) ([]ExpiringCertificate, error) {
	until := now.Add(within)
	rows, err := queries.ExpiringSignerCertificates(ctx, s.Pool, &dbsqlc.ExpiringSignerCertificatesParams{FromTime: &now, UntilTime: &until,
		Org: NullUUID(orgID), MaxItems: limit})
	if err != nil {
		return nil, fmt.Errorf("store: expiring certificates: %w", err)
	}
	out := make([]ExpiringCertificate, len(rows))
	for i, r := range rows {
		out[i] = ExpiringCertificate{Subject: r.Subject, Issuer: r.Issuer, Serial: r.Serial, OGRN: r.Ogrn, SNILS: r.Snils, Role: r.Role,
			KeyBits: r.KeyBits, NotAfter: r.NotAfter, DaysLeft: int(r.NotAfter.Sub(now).Hours() / 24),
			Organization: OrgRef{ID: r.OrgID, OID: r.OrgOid, Name: r.OrgName, Region: r.OrgRegion},
			System:       SystemRef{ID: r.SystemID, Name: r.SystemName},
			Documents:    r.Documents, LastSeen: r.LastSeen, Waiting: r.Waiting}
	}
	return out, nil
}
