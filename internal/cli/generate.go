package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
)

// runGenerate writes generated documents for a МИС to test against: the
// same documents the hub's own tests use, which pass the official
// schematron of their kind. With -sign each gets detached CMS signatures of
// the doctor and the organisation (DER, under the test CA, which is written
// beside them as emdhub-test-ca.pem).
func runGenerate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "document kind (НСИ 1520): 121, 58, 59 or 76")
	n := fs.Int("n", 1, "how many documents")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same documents")
	out := fs.String("out", "", "directory to write into (created if missing)")
	sign := fs.Bool("sign", false, "also write <name>.doctor.p7s and <name>.org.p7s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *kind {
	case "121", "58", "59", "76":
	default:
		fs.Usage()
		return fmt.Errorf("-kind must be 121, 58, 59 or 76, not %q", *kind)
	}
	if *out == "" || *n < 1 {
		fs.Usage()
		return errors.New("-out and a positive -n are required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if *sign {
		if err := semdgen.WriteTestCA(*out); err != nil {
			return err
		}
	}
	for i := range *n {
		d, err := semdgen.Build(semdgen.Varied(*kind, *seed, i))
		if err != nil {
			return err
		}
		name := filepath.Join(*out, *kind+"-"+strconv.Itoa(i+1))
		if err := os.WriteFile(name+".xml", d.XML, 0o644); err != nil {
			return err
		}
		if *sign {
			for _, s := range d.Signed().Signatures {
				suffix := ".doctor.p7s"
				if s.Role == signed.RoleOrganization {
					suffix = ".org.p7s"
				}
				if err := os.WriteFile(name+suffix, s.CMS, 0o644); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintf(stdout, "wrote %d document(s) of kind %s to %s\n", *n, *kind, *out)
	return nil
}
