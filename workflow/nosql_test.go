package workflow

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWorkflowHoldsNoSQL: the workflow orchestrates; its SQL is the
// store's (internal/store/queries). No non-test file here runs a statement
// (Exec, Query, QueryRow, CopyFrom, SendBatch) or imports the generated
// queries; River's own calls (InsertTx, JobCompleteTx) are not SQL text.
func TestWorkflowHoldsNoSQL(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sqlCalls := map[string]bool{"Exec": true, "Query": true, "QueryRow": true, "CopyFrom": true, "SendBatch": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		fs := token.NewFileSet()
		file, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/store/dbsqlc") {
				t.Errorf("%s imports %s: call the store", f, p)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sqlCalls[sel.Sel.Name] {
					t.Errorf("%s: %s runs SQL in the workflow: make it a store query", fs.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("only %d files checked", checked)
	}
}
