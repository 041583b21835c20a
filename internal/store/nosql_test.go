package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sqlKeywords are the shapes of a statement; the project writes SQL
// keywords in capitals, and a lower-case statement still has placeholders.
var (
	sqlKeywords  = `\bSELECT\b(?s:.+)\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bWITH\s+\w+\s+AS\s*\(|\bON\s+CONFLICT\b`
	sqlUpper     = regexp.MustCompile(sqlKeywords)
	sqlAnyCase   = regexp.MustCompile(`(?i)` + sqlKeywords)
	sqlParameter = regexp.MustCompile(`\$\d+\b`)
)

// isSQLText tells whether a string literal is (part of) a statement.
func isSQLText(s string) bool {
	return sqlUpper.MatchString(s) || (sqlAnyCase.MatchString(s) && sqlParameter.MatchString(s))
}

// sqlCalls are the pgx methods that run SQL text.
var sqlCalls = map[string]bool{"Exec": true, "Query": true, "QueryRow": true, "CopyFrom": true, "SendBatch": true}

// noSQLProblems lists where the Go source src (named name) holds SQL text
// or runs a statement itself instead of through the generated queries.
func noSQLProblems(t *testing.T, name string, src any) []string {
	t.Helper()
	fs := token.NewFileSet()
	file, err := parser.ParseFile(fs, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sqlCalls[sel.Sel.Name] {
				problems = append(problems, fs.Position(sel.Pos()).String()+": "+sel.Sel.Name+" runs SQL: make it a query in queries/*.sql")
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil && isSQLText(s) {
					problems = append(problems, fs.Position(n.Pos()).String()+": SQL text in Go: move it to queries/*.sql")
				}
			}
		}
		return true
	})
	return problems
}

// TestStoreHoldsNoSQL: every statement of the store is in queries/*.sql,
// compiled by sqlc into dbsqlc (checked by TestGeneratedCodeIsCurrent); no
// non-test Go file of the package holds SQL text or runs a statement of
// its own. (Comments may talk about SQL; only code is checked.)
func TestStoreHoldsNoSQL(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		for _, p := range noSQLProblems(t, f, nil) {
			t.Error(p)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked", checked)
	}
}

// TestNoSQLDetector: the check above finds what the store's files held
// before their queries moved to queries/*.sql, and passes generated-style
// calls and ordinary strings.
func TestNoSQLDetector(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      int
	}{
		{"inline select", "package p\nfunc f(db DB) { db.QueryRow(ctx, `SELECT 1 FROM documents WHERE id = $1`, id) }", 2},
		{"statement in a constant", "package p\nconst q = `INSERT INTO audit_log (actor) VALUES ($1)`", 1},
		{"lower-case update", "package p\nvar q = \"update api_keys set revoked_at = now() where id = $1\"", 1},
		{"upsert fragment", "package p\nvar q = \"... ON CONFLICT (oid) DO NOTHING\"", 1},
		{"exec", "package p\nfunc f(tx Tx) { tx.Exec(ctx, q) }", 1},
		{"generated query", "package p\nfunc f() { queries.GetKey(ctx, db, id) }", 0},
		{"message", "package p\nvar m = fmt.Errorf(\"store: select a system from the list: %w\", err)", 0},
	} {
		if got := noSQLProblems(t, tc.name+".go", tc.src); len(got) != tc.want {
			t.Errorf("%s: %d problems, want %d: %v", tc.name, len(got), tc.want, got)
		}
	}
}
