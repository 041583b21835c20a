//go:build ignore

// gen.go builds kinds.json, the compact table of document kinds the hub
// embeds, from the official FNSI exports copied into fnsi/ (from
// shared/reference/nsi: НСИ 1520 "Электронные медицинские документы" v12.14
// joined with НСИ 1522 "Виды медицинской документации" v7.24). Run with
// `go generate ./internal/nsi`.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

type export struct {
	List [][]struct {
		Column string  `json:"column"`
		Value  *string `json:"value"`
	} `json:"list"`
}

func load(path string) []map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	var e export
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", path, err)
		os.Exit(1)
	}
	out := make([]map[string]string, 0, len(e.List))
	for _, row := range e.List {
		m := map[string]string{}
		for _, c := range row {
			if c.Value != nil {
				m[c.Column] = *c.Value
			}
		}
		out = append(out, m)
	}
	return out
}

type kind struct {
	Kind           string `json:"kind"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	TypeName       string `json:"type_name"`
	TypeOID        string `json:"type_oid"`
	PatientInfo    string `json:"patient_info"`
	MOSign         bool   `json:"mo_sign"`
	Guide          string `json:"guide"`
	SeriesRequired bool   `json:"series_required"`
	Start          string `json:"start"`
	End            string `json:"end,omitempty"`
}

func main() {
	dir := "fnsi"
	if d := os.Getenv("HUB_NSI_DIR"); d != "" {
		dir = d
	}
	types := map[string]map[string]string{}
	for _, r := range load(filepath.Join(dir, "1.2.643.5.1.13.13.11.1522_7.24.json")) {
		types[r["RECID"]] = r
	}
	var kinds []kind
	for _, r := range load(filepath.Join(dir, "1.2.643.5.1.13.13.11.1520_12.14.json")) {
		t := types[r["TYPE"]]
		kinds = append(kinds, kind{
			Kind: r["ID"], Type: r["TYPE"], Name: r["NAME"],
			TypeName: t["Name"], TypeOID: t["OID"],
			PatientInfo: r["PATIENT_INFO"], MOSign: r["MO_SIGN"] == "Да",
			Guide: r["GIT_LINK"], SeriesRequired: r["SERIES_REQUIRED"] == "Да",
			Start: r["START_DATE"], End: r["END_DATE"],
		})
	}
	sort.Slice(kinds, func(i, j int) bool {
		a, _ := strconv.Atoi(kinds[i].Kind)
		b, _ := strconv.Atoi(kinds[j].Kind)
		return a < b
	})
	b, err := json.MarshalIndent(kinds, "", " ")
	if err != nil {
		panic(err)
	}
	b = append(b, '\n')
	out := "kinds.json"
	if o := os.Getenv("HUB_NSI_OUT"); o != "" {
		out = o
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		panic(err)
	}
}
