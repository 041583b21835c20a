package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

// queryText is the SQL of the named query in queries/FILE, with sqlc's
// @name parameters numbered $1, $2… in order of first appearance
// (DeliveryWithSigners: $1 with_content, $2 id).
func queryText(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile("queries/" + file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "-- name: "+name+" ")
	if i < 0 {
		t.Fatalf("no query %s in %s", name, file)
	}
	s = s[i:]
	if j := strings.Index(s[1:], "-- name: "); j >= 0 {
		s = s[:j+1]
	}
	params := map[string]string{}
	return regexp.MustCompile(`@[a-z_]+`).ReplaceAllStringFunc(s, func(p string) string {
		if _, ok := params[p]; !ok {
			params[p] = "$" + strconv.Itoa(len(params)+1)
		}
		return params[p]
	})
}

// TestDeliveryReadsByIndex: a delivery's read (DeliveryWithSigners, once
// per delivery attempt) and a package's (PackageToSend) find their
// documents and signatures by index, in a
// generic plan (what a prepared statement runs after five executions)
// over thousands of stored documents. With plain joins the planner hashed
// the whole documents table: a sequential scan of every partition per
// delivery, so the cost of a delivery grew with what was stored (found by
// `hub loadgen -pgss`: 0.7 ms of server time a delivery at 1,300 stored).
func TestDeliveryReadsByIndex(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	st := store.New(pool)
	reg, err := st.RegisterSystem(ctx, "1.2.643.5.1.13.13.12.2.77.9", "МО А", "МИС А")
	if err != nil {
		t.Fatal(err)
	}
	// 3,000 documents of this month, two signatures and a delivery each.
	insert := func(from, to int) {
		t.Helper()
		_, err := pool.Exec(ctx, `
		WITH ids AS (SELECT g, (substr(uuid7_floor(date_trunc('month', now()) + interval '1 day')::text, 1, 24) || lpad(to_hex(g), 12, '0'))::uuid AS id
			FROM generate_series($3::int, $4::int) g),
		docs AS (INSERT INTO documents (id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension,
				set_root, set_extension, version_number, title, effective_time, content, content_sha256, header)
			SELECT id, $1, $2, '58', '58', g::text, '1.2.3', g::text, '1.2.3', g::text, 1, 't', now(), repeat('x', 200)::bytea, '\x00', '{}'
			FROM ids RETURNING id),
		sigs AS (INSERT INTO document_signatures (document_id, ordinal, role, cms, cms_sha256)
			SELECT id, o, CASE o WHEN 0 THEN 'doctor' ELSE 'organization' END, '\x01', '\x01' FROM docs, generate_series(0, 1) o)
		INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id)
		SELECT gen_random_uuid(), id, $1, 'zags', 'pending', id::text FROM docs`, reg.Organization.ID, reg.System.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(1, 3000)
	var id, docPart, sigPart string
	if err := pool.QueryRow(ctx, `SELECT id::text, (SELECT tableoid::regclass::text FROM documents LIMIT 1),
		(SELECT tableoid::regclass::text FROM document_signatures LIMIT 1) FROM deliveries LIMIT 1`).Scan(&id, &docPart, &sigPart); err != nil {
		t.Fatal(err)
	}
	// No ANALYZE: autovacuum analyses a table at most once a minute, so a
	// hub taking load runs on tables it has not analysed yet, which the
	// planner sizes by their files, with default selectivities (0.5 % of
	// the signatures per document id). With plain joins it then hashed the
	// whole documents table; the plan must not depend on the statistics.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ file, name, args string }{
		{"deliveries.sql", "DeliveryWithSigners", `true, '` + id + `'`},
		{"referrals.sql", "PackageToSend", `'` + id + `'`},
	} {
		q := strings.TrimRight(strings.TrimSpace(queryText(t, c.file, c.name)), ";")
		ps := fmt.Sprintf("q%d", i)
		if _, err := conn.Exec(ctx, `PREPARE `+ps+` AS `+q); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE `+ps+`(`+c.args+`)`)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		// The partitions holding the rows must be read by index (a
		// sequential scan of an empty partition costs nothing and is pruned
		// at run time).
		for _, part := range []string{docPart, sigPart} {
			if strings.Contains(text, "Seq Scan on "+part+" ") {
				t.Errorf("%s scans %s sequentially:\n%s", c.name, part, text)
			}
			if !strings.Contains(text, " on "+part+" ") {
				t.Errorf("%s: the plan does not read %s at all?\n%s", c.name, part, text)
			}
		}
	}
}
