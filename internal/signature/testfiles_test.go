package signature

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

func readFile(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func parseCertFile(name string) (*x509.Certificate, error) {
	b, err := readFile(name)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", name)
	}
	return x509.ParseCertificate(blk.Bytes)
}
