// Package official embeds the registry's published schematrons, byte-identical
// to the reference copies (ФЛК level 1): 121 referral to MSE (ed. 6), 58 death
// certificate (ed. 5), 59 perinatal death certificate (ed. 2), 76 birth
// certificate (ed. 4). Files are named <kind>.sch, the kind being the code of
// the registry of document kinds 1.2.643.5.1.13.13.11.1520, so that a new
// schematron dropped into HUB_SCHEMATRON_DIR under the same naming needs no code.
package official

import "embed"

// FS holds 121.sch, 58.sch, 59.sch and 76.sch.
//
//go:embed *.sch
var FS embed.FS
