package semdgen

import (
	"testing"

	"github.com/emdhub/hub/internal/refbook"
)

// TestBooksAreTheBundle: every book the generator draws codes from
// (books_gen.go, made by mkbooks.py) is the door's bundled book under its
// primary OID, in a held version, with its full name, and every row's code
// and name are that book's: nothing the generator writes from them is invented.
func TestBooksAreTheBundle(t *testing.T) {
	r, err := refbook.NewRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	held := r.Books()
	rows := 0
	for oid, b := range books {
		hb, ok := held.Lookup(oid, b.Version)
		if !ok || hb == nil {
			t.Errorf("%s version %s: not a held book", oid, b.Version)
			continue
		}
		if hb.OID != oid {
			t.Errorf("%s is an other OID of %s: key books by primary OID", oid, hb.OID)
		}
		if hb.Name != b.Name {
			t.Errorf("%s: name %q, the book's full name is %q", oid, b.Name, hb.Name)
		}
		for _, r := range b.Rows {
			rows++
			if !hb.Has(r.Code) {
				t.Errorf("%s %s: code %q not in the book", oid, b.Version, r.Code)
			} else if hb.NameOf(r.Code) != r.Name {
				t.Errorf("%s %s: code %q named %q, the book says %q", oid, b.Version, r.Code, r.Name, hb.NameOf(r.Code))
			}
		}
	}
	if len(books) < 50 || rows < 500 {
		t.Fatalf("only %d books, %d rows", len(books), rows)
	}
}
