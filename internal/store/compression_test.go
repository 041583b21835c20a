package store_test

import (
	"context"
	"testing"

	"github.com/emdhub/hub/internal/testdb"
)

// TestLZ4Compression: the documents' content and the signatures' CMS are
// compressed with lz4 (migration 0012), in every partition there is and in
// one created later by hub_create_month_partitions — a partition that fell
// back to pglz would cost intake its compression CPU again, silently.
func TestLZ4Compression(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if _, err := pool.Exec(ctx, `SELECT hub_create_month_partitions('2031-07-01')`); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `
		SELECT c.relname, a.attname, a.attcompression::text
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE (c.relname LIKE 'documents%' AND a.attname = 'content'
		    OR c.relname LIKE 'document\_signatures%' AND a.attname = 'cms')
		  AND c.relkind IN ('r', 'p') AND NOT a.attisdropped
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, future := 0, 0
	for rows.Next() {
		var rel, col, comp string
		if err := rows.Scan(&rel, &col, &comp); err != nil {
			t.Fatal(err)
		}
		if rel == "documents_unpartitioned" {
			continue // the pre-0011 table, kept empty for the record
		}
		seen++
		if rel == "documents_p203107" || rel == "document_signatures_p203107" {
			future++
		}
		if comp != "l" {
			t.Errorf("%s.%s: compression %q, want lz4 (l)", rel, col, comp)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < 4 || future != 2 {
		t.Fatalf("saw %d tables, %d of the new month: the query missed the partitions", seen, future)
	}
}
