package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	rows, err := s.Pool.Query(ctx, `
		SELECT min(sg.signer_subject), min(coalesce(sg.signer_issuer, '')), min(coalesce(sg.signer_serial, '')),
			min(coalesce(sg.signer_ogrn, '')), min(coalesce(sg.signer_snils, '')), min(sg.role), min(coalesce(sg.key_bits, 0)), min(sg.cert_not_after),
			o.id, o.oid, o.name, o.region, sys.id, sys.name, count(DISTINCT d.id), max(d.received_at),
			(SELECT count(*) FROM deliveries dl JOIN document_signatures s2 ON s2.document_id = dl.document_id
				WHERE s2.cert_sha256 = sg.cert_sha256 AND dl.organization_id = o.id AND dl.state IN ('pending', 'retrying'))
			+ (SELECT count(*) FROM mse_referrals r JOIN document_signatures s3 ON s3.document_id = r.document_id
				WHERE s3.cert_sha256 = sg.cert_sha256 AND r.organization_id = o.id AND r.state IN ('received', 'assembling', 'sending'))
		FROM document_signatures sg
		JOIN documents d ON d.id = sg.document_id
		JOIN organizations o ON o.id = d.organization_id
		JOIN information_systems sys ON sys.id = d.system_id
		WHERE sg.cert_not_after >= $1 AND sg.cert_not_after < $2 AND ($3::uuid IS NULL OR d.organization_id = $3)
		GROUP BY sg.cert_sha256, o.id, sys.id
		ORDER BY min(sg.cert_not_after), o.oid, sys.name
		LIMIT $4`, now, now.Add(within), NullUUID(orgID), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expiring certificates: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExpiringCertificate, error) {
		var c ExpiringCertificate
		err := r.Scan(&c.Subject, &c.Issuer, &c.Serial, &c.OGRN, &c.SNILS, &c.Role, &c.KeyBits, &c.NotAfter,
			&c.Organization.ID, &c.Organization.OID, &c.Organization.Name, &c.Organization.Region, &c.System.ID, &c.System.Name,
			&c.Documents, &c.LastSeen, &c.Waiting)
		c.DaysLeft = int(c.NotAfter.Sub(now).Hours() / 24)
		return c, err
	})
}
