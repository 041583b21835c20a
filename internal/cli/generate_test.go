package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semd"
)

// TestGenerate writes signed documents of each kind with a published
// schematron: as many as asked, readable and accepted by the door checks,
// the same for the same seed and different for another, each with a doctor's
// and an organisation's signature that verify-signature accepts under the CA
// written beside them; bad flags are refused.
func TestGenerate(t *testing.T) {
	for _, kind := range []string{"121", "58", "59", "76"} {
		dir := t.TempDir()
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), []string{"generate", "-kind", kind, "-n", "3", "-seed", "7", "-out", dir, "-sign"}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errOut.String())
		}
		for _, i := range []string{"1", "2", "3"} {
			name := filepath.Join(dir, kind+"-"+i)
			x, err := os.ReadFile(name + ".xml")
			if err != nil {
				t.Fatal(err)
			}
			doc, err := semd.Parse(x)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, err := semd.Check(doc, semd.Claims{Kind: kind, Now: time.Now()}); err != nil {
				t.Fatalf("%s: door: %v", name, err)
			}
			for _, role := range []string{".doctor.p7s", ".org.p7s"} {
				var vout, verr bytes.Buffer
				if code := Run(context.Background(), []string{"verify-signature", "-doc", name + ".xml", "-sig", name + role, "-ca-dir", dir}, &vout, &verr); code != 0 || !strings.Contains(vout.String(), "OK ") {
					t.Errorf("%s%s: exit %d: %s%s", name, role, code, vout.String(), verr.String())
				}
			}
		}
		again := t.TempDir()
		Run(context.Background(), []string{"generate", "-kind", kind, "-n", "1", "-seed", "7", "-out", again}, &out, &errOut)
		other := t.TempDir()
		Run(context.Background(), []string{"generate", "-kind", kind, "-n", "1", "-seed", "8", "-out", other}, &out, &errOut)
		a, _ := os.ReadFile(filepath.Join(dir, kind+"-1.xml"))
		b, _ := os.ReadFile(filepath.Join(again, kind+"-1.xml"))
		c, _ := os.ReadFile(filepath.Join(other, kind+"-1.xml"))
		if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(c) == 0 {
			t.Errorf("%s: the same seed must give the same document and another seed another", kind)
		}
		if _, err := os.Stat(filepath.Join(again, kind+"-1.doctor.p7s")); err == nil {
			t.Errorf("%s: signatures written without -sign", kind)
		}
	}
	for _, args := range [][]string{{"generate", "-kind", "119", "-out", t.TempDir()}, {"generate", "-kind", "58"}, {"generate", "-kind", "58", "-n", "0", "-out", t.TempDir()}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, &out, &errOut); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
}
