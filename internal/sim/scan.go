package sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emdhub/hub/internal/semd"
)

// Codes of НСИ 1.2.643.5.1.13.13.99.2.166 that carry a certificate's series
// and number (as semd.Parse reads them): 5013/5014 (death and perinatal
// death), 4120/4121 (birth), 11002/11003 (generic).
var (
	seriesCodes = map[string]bool{"5013": true, "4120": true, "11002": true}
	numberCodes = map[string]bool{"5014": true, "4121": true, "11003": true}
)

// docinfoPath is where the DOCINFO section's entries are, by local name.
var docinfoPath = []string{"ClinicalDocument", "component", "structuredBody", "component", "section"}

// scanSeriesNumber reads a certificate СЭМД's series and number as
// semd.Parse does (the first DOCINFO observation of each code; the
// value's text, else its value attribute) with a streaming token scan
// that keeps only the element path, and stops once both are found: ЕГР
// ЗАГС compares them with the request, and a full parse of the document
// was the simulator's largest cost in a delivery (issue 16). The scan
// reports XML that is not well-formed up to where it stops.
func scanSeriesNumber(content []byte) (series, number string, err error) {
	d := xml.NewDecoder(bytes.NewReader(content))
	var path []string // local names from the root
	docinfo := -1     // depth of the DOCINFO section being read, or -1
	type obs struct {
		depth       int
		code        string
		text, value string
		inValue     bool
	}
	var o *obs
	var haveSeries, haveNumber bool
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if len(path) != 0 {
				return "", "", fmt.Errorf("unexpected end of the document")
			}
			return series, number, nil
		}
		if err != nil {
			return "", "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			depth := len(path)
			switch {
			case depth == len(docinfoPath)+1 && t.Name.Local == "code" && docinfo < 0 && pathIs(path[:depth-1], docinfoPath) && attr(t, "code") == "DOCINFO":
				docinfo = depth - 1
			case docinfo > 0 && o == nil && depth == docinfo+2 && t.Name.Local == "observation" && path[depth-2] == "entry":
				o = &obs{depth: depth}
			case o != nil && depth == o.depth+1 && t.Name.Local == "code":
				o.code = attr(t, "code")
			case o != nil && depth == o.depth+1 && t.Name.Local == "value":
				o.value, o.inValue = attr(t, "value"), true
			}
		case xml.CharData:
			if o != nil && o.inValue && len(path) == o.depth+1 {
				o.text += string(t)
			}
		case xml.EndElement:
			depth := len(path)
			if depth == 0 {
				return "", "", fmt.Errorf("unexpected end element %s", t.Name.Local)
			}
			switch {
			case o != nil && depth == o.depth+1 && t.Name.Local == "value":
				o.inValue = false
			case o != nil && depth == o.depth:
				v := strings.TrimSpace(o.text)
				if v == "" {
					v = strings.TrimSpace(o.value)
				}
				switch {
				case seriesCodes[o.code] && !haveSeries:
					series, haveSeries = v, v != ""
				case numberCodes[o.code] && !haveNumber:
					number, haveNumber = v, v != ""
				}
				o = nil
				if haveSeries && haveNumber {
					return series, number, nil
				}
			case depth == docinfo:
				docinfo = -1
			}
			path = path[:depth-1]
		}
	}
}

func pathIs(path, want []string) bool {
	if len(path) != len(want) {
		return false
	}
	for i := range path {
		if path[i] != want[i] {
			return false
		}
	}
	return true
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// scanDocumentID reads a СЭМД's own id (the first ClinicalDocument/id, as
// semd.Parse reads it) with a streaming scan that stops there, near the
// top: the bureau checks that each linked document of a package is the one
// linked, and a full parse of each cost it more than the rest of its check.
func scanDocumentID(content []byte) (semd.II, error) {
	d := xml.NewDecoder(bytes.NewReader(content))
	depth := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return semd.II{}, fmt.Errorf("no ClinicalDocument/id")
		}
		if err != nil {
			return semd.II{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local != "ClinicalDocument":
				return semd.II{}, fmt.Errorf("the root element is %s, not ClinicalDocument", t.Name.Local)
			case depth == 2 && t.Name.Local == "id":
				return semd.II{Root: strings.TrimSpace(attr(t, "root")), Extension: strings.TrimSpace(attr(t, "extension"))}, nil
			}
		case xml.EndElement:
			depth--
		}
	}
}
