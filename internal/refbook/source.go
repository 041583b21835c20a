package refbook

import (
	"errors"
	"os"
	"path/filepath"
)

// ExportSource finds the official ФНСИ exports the bundle is generated
// from: HUB_NSI_SRC if set, else the first shared/reference/nsi found
// walking up from the working directory (the repository's clone sits beside
// shared/ in CI and on the development machine). Used by gen.go and the
// test that the bundle is current; never at run time.
func ExportSource() (string, error) {
	if d := os.Getenv("HUB_NSI_SRC"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "shared", "reference", "nsi")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("refbook: no shared/reference/nsi above the working directory; set HUB_NSI_SRC to the ФНСИ exports")
		}
		dir = parent
	}
}
