package sim

import (
	"fmt"

	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
)

// header reads a СЭМД's header the way the hub's door does
// (schematron.ReadHeader: the fast parser, semd.Parse for what it leaves).
// ЕГР ЗАГС and the bureau need only a few header fields, and semd.Parse's
// encoding/xml reading was the simulators' largest cost in a delivery
// (issue 16); the fast parse is held to semd.Parse by FuzzFromTreeAgrees,
// so the simulators keep no reader of their own. Default limits, as
// semd.Parse's.
func header(content []byte) (*semd.Document, error) {
	h, dom, err := schematron.ReadHeader(content, semd.Limits{})
	dom.Release()
	return h, err
}

// certificateSeriesNumber is a certificate СЭМД's series and number, as
// semd.Parse reads them (the first DOCINFO observation of each code; the
// value's text, else its value attribute): ЕГР ЗАГС compares them with the
// request.
func certificateSeriesNumber(content []byte) (series, number string, err error) {
	h, err := header(content)
	if err != nil {
		return "", "", err
	}
	return h.Series, h.Number, nil
}

// documentID is a СЭМД's own id (ClinicalDocument/id): the bureau checks
// that each linked document of a package is the one linked.
func documentID(content []byte) (semd.II, error) {
	h, err := header(content)
	if err != nil {
		return semd.II{}, err
	}
	if h.ID == (semd.II{}) {
		return semd.II{}, fmt.Errorf("no ClinicalDocument/id")
	}
	return h.ID, nil
}
