//go:build ignore

// gen.go builds books/bundle.tsv.gz, the compact form of the ФНСИ reference
// books the hub bundles, from the official exports in shared/reference/nsi
// (found by walking up from here; HUB_NSI_SRC names another directory).
// Run with `go generate ./internal/refbook`. TestBundleIsCurrent checks the
// committed bundle against the exports.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"

	"github.com/emdhub/hub/internal/refbook"
)

func main() {
	src, err := refbook.ExportSource()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	books, err := refbook.ReadExportDir(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	var text bytes.Buffer
	if err := refbook.WriteBundle(&text, books); err != nil {
		panic(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(text.Bytes())
	zw.Close()
	if err := os.WriteFile("books/bundle.tsv.gz", gz.Bytes(), 0o644); err != nil {
		panic(err)
	}
	fmt.Printf("gen: %d books from %s, %d bytes (%d uncompressed)\n", len(books), src, gz.Len(), text.Len())
}
