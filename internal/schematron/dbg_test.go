package schematron

import (
	"os"
	"strconv"
	"testing"

	"github.com/emdhub/hub/internal/schematron/saxon"
)

func TestDbgOne(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("DBG_DOC"))
	if err != nil {
		t.Skip()
	}
	kind := os.Getenv("DBG_KIND")
	docs := corpus(t, 5, 130)
	d := docs[n]
	t.Log(d.name)
	os.WriteFile("/tmp/eng/dbg.xml", d.xml, 0o644)
	ss, _ := saxon.Compile("official/" + kind + ".sch")
	got, err := ss.Run([][]byte{d.xml})
	t.Log(got, err)
	sch, _ := Official(kind)
	p, _ := Parse(d.xml)
	fs, err := sch.ValidateErr(p)
	t.Log(len(fs), err)
}
