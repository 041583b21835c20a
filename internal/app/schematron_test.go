package app_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

// TestUnconfiguredSchematronIsLogged: a HUB_SCHEMATRON_DIR with a .sch that
// does not compile does not stop the hub; the kind is logged at start with
// the file, line and rule, kept out of the configured kinds, and the other
// kinds load.
func TestUnconfiguredSchematronIsLogged(t *testing.T) {
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := `<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
<pattern>
<rule context="ClinicalDocument"><assert test="for $x in title return 1">У1-1.</assert></rule>
</pattern></schema>`
	good := `<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
<pattern><rule context="ClinicalDocument"><assert test="title">У1-1.</assert></rule></pattern></schema>`
	os.WriteFile(filepath.Join(dir, "121.sch"), []byte(bad), 0o644)
	os.WriteFile(filepath.Join(dir, "58.sch"), []byte(good), 0o644)
	cfg, err := config.Load(func(k string) string {
		switch k {
		case "HUB_TRUSTED_CA_DIR":
			return caDir
		case "HUB_SCHEMATRON_DIR":
			return dir
		case "HUB_NSI_CHECK":
			return "false"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(&logs, nil)), testdb.Pool(t))
	if err != nil {
		t.Fatalf("a broken schematron stopped the start: %v", err)
	}
	if k := a.Intake.Schematrons.Kinds(); len(k) != 1 || k[0] != "58" {
		t.Errorf("configured kinds %v", k)
	}
	if a.Intake.Schematrons["121"] == nil || a.Intake.Schematrons["121"].Err == nil {
		t.Error("kind 121 is not recorded as unconfigured")
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "kind unconfigured") {
			line = l
		}
	}
	if !strings.Contains(line, "kind=121") || !strings.Contains(line, "121.sch:3: rule 1") {
		t.Errorf("no start-up log naming kind, file:line and rule:\n%s", logs.String())
	}
}
