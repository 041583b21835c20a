package saxon

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/emdhub/hub/internal/schematron/official"
)

// Jar is Saxon-HE as Debian's libsaxonhe-java installs it (9.9 in bookworm).
var Jar = "/usr/share/java/Saxon-HE.jar"

// JavaOptions go to the JVM before the class path. The serial collector
// keeps the JVM to one busy thread besides the JIT, on a small machine.
var JavaOptions = []string{"-XX:+UseSerialGC"}

// Failure is one failed assert or successful report, the same record as the
// engine's schematron.Failure (declared here too so that neither package
// imports the other; convert with schematron.Failure(f)).
type Failure struct {
	Kind     string // "assert" (a failed assert) or "report" (a successful report)
	ID       string // the assert/report @id ("" if none)
	Pattern  string // the enclosing pattern's @id ("" if none)
	Location string // fn:path() of the rule's context node, as Saxon prints it
	Text     string // the message with value-of/name evaluated, normalize-space()d
}

// Sort puts failures in the agreed order: by Location, Pattern, ID, Kind,
// Text (byte-wise string comparison); duplicates are kept.
func Sort(fs []Failure) {
	slices.SortStableFunc(fs, func(a, b Failure) int {
		return cmp.Or(
			strings.Compare(a.Location, b.Location),
			strings.Compare(a.Pattern, b.Pattern),
			strings.Compare(a.ID, b.ID),
			strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Text, b.Text),
		)
	})
}

// Available reports whether java and the Saxon jar are present.
func Available() error {
	if _, err := exec.LookPath("java"); err != nil {
		return errors.New("saxon: java not found (apt-get install default-jre-headless)")
	}
	if _, err := os.Stat(Jar); err != nil {
		return fmt.Errorf("saxon: %s not found (apt-get install libsaxonhe-java)", Jar)
	}
	return nil
}

// Stylesheet is a schema converted to XSLT, on disk, ready to run.
type Stylesheet struct {
	Schema string // the .sch it was made from
	Path   string // the generated .xsl
}

// Compile converts one .sch file with DefaultOptions.
func Compile(schPath string) (*Stylesheet, error) {
	return CompileWith(schPath, DefaultOptions)
}

// CompileWith converts one .sch file to XSLT and stores it on disk (under
// the user cache directory, or the temporary one) named by the hash of the
// stylesheet itself, so that a changed converter never meets a stale file
// and repeated runs share one copy. Converting takes milliseconds; Saxon
// compiles the stylesheet at the start of every Run.
func CompileWith(schPath string, opt Options) (*Stylesheet, error) {
	src, err := os.ReadFile(schPath)
	if err != nil {
		return nil, fmt.Errorf("saxon: %w", err)
	}
	return CompileSource(schPath, src, opt)
}

// CompileOfficial compiles the registry's schematron of kind (121, 58,
// 59, 76) as the hub embeds it (internal/schematron/official).
func CompileOfficial(kind string) (*Stylesheet, error) {
	src, err := official.FS.ReadFile(kind + ".sch")
	if err != nil {
		return nil, fmt.Errorf("saxon: no official schematron of kind %s: %w", kind, err)
	}
	return CompileSource(kind+".sch", src, DefaultOptions)
}

// CompileSource is CompileWith for a schema already in memory (e.g. read
// from an embed.FS); name is only for messages and Stylesheet.Schema.
func CompileSource(name string, src []byte, opt Options) (*Stylesheet, error) {
	schPath := name
	xsl, err := Convert(src, opt)
	if err != nil {
		return nil, fmt.Errorf("saxon: %s: %w", schPath, err)
	}
	sum := sha256.Sum256(xsl)
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "hub-schematron-saxon")
	path := filepath.Join(dir, hex.EncodeToString(sum[:16])+".xsl")
	if _, err := os.Stat(path); err == nil {
		return &Stylesheet{Schema: schPath, Path: path}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("saxon: cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "*.tmp")
	if err != nil {
		return nil, fmt.Errorf("saxon: cache: %w", err)
	}
	_, werr := tmp.Write(xsl)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("saxon: cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("saxon: cache: %w", err)
	}
	return &Stylesheet{Schema: schPath, Path: path}, nil
}

// Run validates the documents in one JVM (Saxon's directory mode over a
// temporary directory) and returns, per document in the same order, its
// failures sorted as Sort does (nil when there are none). If Saxon cannot
// compile the stylesheet, or fails on any document (not well-formed, a
// dynamic XPath error), Run returns an error naming those documents.
func (s *Stylesheet) Run(docs [][]byte) ([][]Failure, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	if err := Available(); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "saxon-run-")
	if err != nil {
		return nil, fmt.Errorf("saxon: %w", err)
	}
	defer os.RemoveAll(work)
	in, out := filepath.Join(work, "in"), filepath.Join(work, "out")
	for _, d := range []string{in, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("saxon: %w", err)
		}
	}
	name := func(i int) string { return fmt.Sprintf("%07d.xml", i) }
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(in, name(i)), d, 0o644); err != nil {
			return nil, fmt.Errorf("saxon: %w", err)
		}
	}
	args := append(slices.Clone(JavaOptions), "-cp", Jar, "net.sf.saxon.Transform",
		"-s:"+in, "-o:"+out, "-xsl:"+s.Path)
	cmd := exec.Command("java", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	res := make([][]Failure, len(docs))
	var missing []string
	for i := range docs {
		b, err := os.ReadFile(filepath.Join(out, name(i)))
		if err != nil || len(b) == 0 { // Saxon leaves an empty output on a dynamic error
			missing = append(missing, fmt.Sprint(i))
			continue
		}
		fs, err := parseResult(b)
		if err != nil { // output cut short by a dynamic error
			missing = append(missing, fmt.Sprint(i))
			continue
		}
		res[i] = fs
	}
	if runErr != nil || len(missing) > 0 {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 4000 {
			msg = msg[:4000] + " …"
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("saxon: %s: failed on documents %s (%v): %s", filepath.Base(s.Schema), strings.Join(missing, ", "), runErr, msg)
		}
		return nil, fmt.Errorf("saxon: %s: %v: %s", filepath.Base(s.Schema), runErr, msg)
	}
	return res, nil
}

// parseResult reads what the stylesheet writes for one document.
func parseResult(b []byte) ([]Failure, error) {
	var r struct {
		F []struct {
			K    string `xml:"k,attr"`
			I    string `xml:"i,attr"`
			P    string `xml:"p,attr"`
			L    string `xml:"l,attr"`
			Text string `xml:",chardata"`
		} `xml:"f"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse Saxon output: %w", err)
	}
	var fs []Failure
	for _, f := range r.F {
		fs = append(fs, Failure{Kind: f.K, ID: f.I, Pattern: f.P, Location: f.L, Text: f.Text})
	}
	Sort(fs)
	return fs, nil
}
