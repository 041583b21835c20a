// Package kindstest makes kind bundles for tests: the official schematron
// of a kind with one added rule that the generator's documents break,
// samples that keep it, and zips.
package kindstest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"

	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/schematron/official"
	"github.com/emdhub/hub/internal/semdgen"
)

// Rule is the number of the added rule; its text starts with it.
const Rule = "К1-1"

// Prefix is what the added rule wants ClinicalDocument/id/@extension to
// start with. Generated documents (random ids) break it; a document built
// with an ID starting with it keeps it.
const Prefix = "MSE-"

// RuleText is the added rule's message.
const RuleText = Rule + ". Элемент ClinicalDocument/id должен иметь атрибут @extension, начинающийся с '" + Prefix + "'"

// StrictSchematron is the official schematron of kind with one more
// pattern: rule Rule, ClinicalDocument/id/@extension must start with Prefix.
func StrictSchematron(kind string) []byte {
	sch, err := fs.ReadFile(official.FS, kind+".sch")
	if err != nil {
		panic(err)
	}
	i := bytes.LastIndex(sch, []byte("</schema>"))
	if i < 0 {
		panic("kindstest: no </schema> in " + kind + ".sch")
	}
	add := fmt.Sprintf(`    <pattern id="hub-test-strict">
        <rule context="/ClinicalDocument">
            <assert test="starts-with(id/@extension, '%s')">%s</assert>
        </rule>
    </pattern>
`, Prefix, RuleText)
	return append(append(append([]byte{}, sch[:i]...), add...), sch[i:]...)
}

// NewKindSchematron is a schematron of rule Rule alone, for a kind the
// hub has no schematron for (adding a kind rather than replacing one).
func NewKindSchematron() []byte {
	return []byte(fmt.Sprintf(`<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
    <pattern id="hub-test-new-kind">
        <rule context="/ClinicalDocument">
            <assert test="starts-with(id/@extension, '%s')">%s</assert>
        </rule>
    </pattern>
</schema>
`, Prefix, RuleText))
}

// Official is the official schematron of kind as bundled.
func Official(kind string) []byte {
	sch, err := fs.ReadFile(official.FS, kind+".sch")
	if err != nil {
		panic(err)
	}
	return sch
}

// Sample is a generated document of kind whose id extension is id
// (Prefix+… keeps the added rule, anything else breaks it).
func Sample(kind, id string, seed uint64) []byte {
	return semdgen.MustBuild(semdgen.Options{Kind: kind, ID: id, Org: semdgen.NewOrg(77, 11), Rand: rand.New(rand.NewPCG(seed, seed))}).XML
}

// Bundle zips a bundle for kind: sch as <kind>.sch and the samples as
// samples/<n>.xml.
func Bundle(kind string, sch []byte, samples ...[]byte) []byte {
	files := map[string][]byte{kind + ".sch": sch}
	for i, s := range samples {
		files[fmt.Sprintf("samples/%d.xml", i+1)] = s
	}
	return MustZip(files)
}

// MustZip is kinds.Zip that panics.
func MustZip(files map[string][]byte) []byte {
	b, err := kinds.Zip(files)
	if err != nil {
		panic(err)
	}
	return b
}

// RawZip writes entries ({name, content}) with exactly the names given —
// zip.Writer does not check them — for names a careful tool would never
// write ("../x", "/x").
func RawZip(files ...[2]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			panic(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
