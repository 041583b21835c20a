// Command hub is the interagency exchange hub for electronic medical
// documents. One binary, several subcommands: see `hub help`.
package main

import (
	"context"
	"os"

	"github.com/emdhub/hub/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
