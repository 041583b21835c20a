package intake

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestLevel2WalksTheDOM: at the door level 2 reads the document from the
// DOM the door parsed (not from the bytes again), and from the bytes when
// there is none. Shown by giving it the bytes of one document and the DOM
// of another, whose gender code is not in its book: the refusal follows the
// DOM, with the byte scan's path; without a DOM the bytes decide.
func TestLevel2WalksTheDOM(t *testing.T) {
	svc := flkService(t)
	org := semdgen.NewOrg(77, 1)
	doc := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(1, 0))}).XML
	const gender = `<administrativeGenderCode code="1" codeSystem="1.2.643.5.1.13.13.11.1040"`
	if !bytes.Contains(doc, []byte(gender)) {
		t.Fatal("the generated 121 has no male gender code to change")
	}
	bad := bytes.Replace(doc, []byte(gender), []byte(`<administrativeGenderCode code="7" codeSystem="1.2.643.5.1.13.13.11.1040"`), 1)
	lim := semd.Limits{}.WithDefaults()
	ctx := context.Background()

	warnings, err := svc.checkLevel2(ctx, doc, schematron.ParseFast(bad, lim), nil)
	var ce *codes.Error
	if !errors.As(err, &ce) || ce.Code != codes.InvalidElementValueCode || len(warnings) != 1 {
		t.Fatalf("the DOM of a wrong code: %v, warnings %+v", err, warnings)
	}
	if _, err := svc.checkLevel2(ctx, bad, schematron.ParseFast(bad, lim), nil); err == nil || err.Error() != ce.Error() {
		t.Fatalf("the same document's bytes and DOM: %v, want %v", err, ce)
	}
	_, err = svc.checkLevel2(ctx, bad, nil, nil)
	var bytesErr *codes.Error
	if !errors.As(err, &bytesErr) || !reflect.DeepEqual(bytesErr, ce) {
		t.Fatalf("the bytes alone: %+v, want the DOM's %+v", err, ce)
	}
	if warnings, err := svc.checkLevel2(ctx, doc, nil, nil); err != nil || len(warnings) != 1 {
		t.Fatalf("a valid document's bytes: %v %+v", err, warnings)
	}
	if warnings, err := svc.checkLevel2(ctx, bad, schematron.ParseFast(doc, lim), nil); err != nil || len(warnings) != 1 {
		t.Fatalf("a valid document's DOM: %v %+v", err, warnings)
	}
}
