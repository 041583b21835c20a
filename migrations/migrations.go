// Package migrations holds the hub's numbered SQL migrations
// (NNNN_name.up.sql), embedded into the binary and applied in order by
// internal/db. River's own schema is applied separately through rivermigrate.
package migrations

import "embed"

// FS holds every *.up.sql file of this directory.
//
//go:embed *.up.sql
var FS embed.FS
