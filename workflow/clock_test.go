package workflow

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

var _ rivertype.TimeGenerator = (*Clock)(nil) // River's shape of a stubbable clock

// TestClockStub: a stub moves Now (fixed or as a function) and NowOrNil,
// never Wall; clearing it restores the system's time.
func TestClockStub(t *testing.T) {
	c := &Clock{}
	if c.NowOrNil() != nil {
		t.Fatal("an unstubbed clock reports a stub")
	}
	at := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	c.StubNow(at)
	if !c.Now().Equal(at) || c.NowOrNil() == nil || !c.NowOrNil().Equal(at) {
		t.Fatalf("stubbed: %v %v", c.Now(), c.NowOrNil())
	}
	if c.Wall().Year() == 2031 {
		t.Fatal("Wall follows the stub")
	}
	c.Stub(func() time.Time { return time.Now().Add(48 * time.Hour) })
	if d := time.Until(c.Now()); d < 47*time.Hour {
		t.Fatalf("a moving stub is %v ahead", d)
	}
	c.Stub(nil)
	if c.NowOrNil() != nil || time.Since(c.Now()) > time.Minute || time.Since(c.Now()) < -time.Minute {
		t.Fatal("clearing the stub does not restore the system's time")
	}
	var nilClock *Clock
	if nilClock.Now().IsZero() {
		t.Fatal("a nil clock has no time")
	}
}

// TestOneClock: in workflow/ and internal/store/ only clock.go reads the
// system clock (time.Now, time.Since, time.Until); everything else asks
// the injected Clock.
func TestOneClock(t *testing.T) {
	for _, dir := range []string{".", "../internal/store", "../internal/store/dbsqlc"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "clock.go" && dir == "." {
				continue
			}
			fs := token.NewFileSet()
			file, err := parser.ParseFile(fs, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
					t.Errorf("%s: time.%s: use the engine's Clock", fs.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}
