package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/store"
)

// NewLevel2 is ФЛК level 2 for the door: the registry's current books and
// settings, and the organisations registered in the store.
func NewLevel2(books *refbook.Registry, st *store.Store) *refbook.Checker {
	return &refbook.Checker{Books: books.Books, Settings: books.Settings(), Orgs: StoreOrgs{st}}
}

// StoreOrgs answers refbook.Orgs from the organizations table: one
// indexed query per document with every organisation OID it names (and the
// organisations of subdivision OIDs), so a registration is seen by the
// next document, on every hub instance, with no cache to invalidate.
type StoreOrgs struct{ Store *store.Store }

// RegisteredOrgs returns which of oids are registered organisations.
func (o StoreOrgs) RegisteredOrgs(ctx context.Context, oids []string) (map[string]bool, error) {
	rows, err := o.Store.Pool.Query(ctx, `SELECT oid FROM organizations WHERE oid = ANY($1)`, oids)
	if err != nil {
		return nil, fmt.Errorf("intake: registered organisations: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var oid string
		if err := rows.Scan(&oid); err != nil {
			return nil, err
		}
		out[oid] = true
	}
	return out, rows.Err()
}

// checkLevel2 runs ФЛК level 2 after the header checks passed and before
// the signatures (one XML pass and one query are cheaper than GOST
// verification): 422 with the first problem's code and every problem in
// the details ([]refbook.Problem: path, book OID and version, the value
// and what the book expects). The books named but not checked come back
// as warnings, with a refusal too. kind is the per-book settings of the
// document's kind (a kind bundle's books.json) on top of the hub's; nil for
// none. dom is the door's parse of content (schematron.ParseFast), which
// level 2 walks instead of scanning the bytes again; nil (a document the
// fast parser left to encoding/xml) scans the bytes.
func (s *Service) checkLevel2(ctx context.Context, content []byte, dom *schematron.Document, kind refbook.Settings) ([]refbook.Warning, error) {
	res, err := s.Level2.CheckDOMWith(ctx, content, dom, kind)
	var warnings []refbook.Warning
	if res != nil {
		warnings = res.Warnings
	}
	var ce *refbook.CheckError
	if errors.As(err, &ce) {
		e := codes.Unprocessable(ce.Code(), "%s", ce.Problems[0].Message)
		e.Details = ce.Problems
		return warnings, e
	}
	return warnings, err
}
