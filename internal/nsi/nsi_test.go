package nsi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestKinds(t *testing.T) {
	tests := []struct {
		kind, typ, template string
		snils, series       bool
	}{
		{"121", "34", "1.2.643.5.1.13.13.14.34.9.6", true, false},
		{"58", "13", "1.2.643.5.1.13.2.7.5.1.13.9.5", false, true},
		{"59", "14", "1.2.643.5.1.13.2.7.5.1.14.9.2", false, true},
		{"76", "33", "1.2.643.5.1.13.2.7.5.1.33.9.4", false, true},
		{"187", "35", "1.2.643.5.1.13.13.14.35.9.3", true, false},
		{"130", "352", "1.2.643.5.1.13.13.14.352.9.2", true, false},
	}
	for _, tt := range tests {
		k, ok := LookupKind(tt.kind)
		if !ok {
			t.Fatalf("kind %s missing", tt.kind)
		}
		if k.Type != tt.typ || k.SNILSRequired() != tt.snils || k.SeriesRequired != tt.series || !k.MOSign {
			t.Errorf("kind %s: %+v", tt.kind, k)
		}
		// The roots the official schematrons accept (121.sch У1-11, 58.sch/59.sch У1-6, 76.sch У1-13).
		if !slices.Contains(k.TemplateRoots(), tt.template) {
			t.Errorf("kind %s: template %s not among %v", tt.kind, tt.template, k.TemplateRoots())
		}
	}
	k, _ := LookupKind("58")
	if !slices.Contains(k.TemplateRoots(), "1.2.643.5.1.13.13.14.353.9.5") || !slices.Contains(k.DocumentTypeCodes(), "353") {
		t.Error("58.sch also accepts the 353 paper-form template and code")
	}
	if _, ok := LookupKind("0"); ok {
		t.Error("kind 0 exists")
	}
}

func TestValidOn(t *testing.T) {
	k, _ := LookupKind("121") // 24.11.2022 ..
	for _, tt := range []struct {
		d  time.Time
		ok bool
	}{
		{time.Date(2022, 11, 23, 23, 0, 0, 0, time.UTC), false},
		{time.Date(2022, 11, 24, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		if k.ValidOn(tt.d) != tt.ok {
			t.Errorf("121 on %s: want %v", tt.d, tt.ok)
		}
	}
	old, _ := LookupKind("5") // PDF protocol, 04.07.2018 .. 01.01.2024
	if old.ValidOn(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) || !old.ValidOn(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("kind 5 end date")
	}
}

// TestGeneratedTableIsCurrent regenerates kinds.json from the FNSI exports
// in fnsi/ and compares it byte for byte with the committed file.
func TestGeneratedTableIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kinds.json")
	cmd := exec.Command("go", "run", "gen.go")
	cmd.Env = append(os.Environ(), "HUB_NSI_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, b)
	}
	want, _ := os.ReadFile("kinds.json")
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("kinds.json is stale: run go generate ./internal/nsi")
	}
}
