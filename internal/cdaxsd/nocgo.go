//go:build !cgo

package cdaxsd

import (
	"errors"
	"io/fs"
)

// errNoCgo is what a build without cgo answers: Go turns cgo off when it
// finds no C compiler, and the XSD stage needs libxml2 through cgo.
var errNoCgo = errors.New("this hub was built without cgo, and XSD validation needs libxml2 through cgo: install a C compiler and libxml2's headers (Debian: apt-get install gcc libxml2-dev) and build again with CGO_ENABLED=1")

// Available tells why this build cannot validate.
func Available() error { return errNoCgo }

type schema struct{}

func compile(fs.FS, string) (*schema, error) { return nil, errNoCgo }

func (*schema) validate([]byte) error { return errNoCgo }
