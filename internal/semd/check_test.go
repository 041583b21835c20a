package semd_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

func TestCheckRefusesEachDefectWithItsCode(t *testing.T) {
	org := semdgen.NewOrg(16, 7)
	tests := []struct {
		kind   string
		defect semdgen.Defect
		code   string
	}{
		{"121", semdgen.DefectBadSNILS, codes.InvalidSNILS},
		{"121", semdgen.DefectNoSNILS, codes.NoSNILS},
		{"58", semdgen.DefectNoSNILS, ""}, // death certificates do not require a СНИЛС
		{"121", semdgen.DefectBadENP, codes.InvalidENP},
		{"121", semdgen.DefectBadOGRN, codes.InvalidOGRN},
		{"121", semdgen.DefectBadIDRoot, codes.InvalidOID},
		{"121", semdgen.DefectSetIDSameAsID, codes.InvalidOID},
		{"119", semdgen.DefectBadPatientRoot, codes.InvalidOID},
		{"121", semdgen.DefectBadOID, codes.InvalidOID},
		{"121", semdgen.DefectWrongCode, codes.AttributeMismatch},
		{"76", semdgen.DefectWrongTemplate, codes.AttributeMismatch},
		{"58", semdgen.DefectNoSeries, codes.SeriesRequired},
		{"76", semdgen.DefectNoSeries, codes.SeriesRequired},
		{"119", semdgen.DefectFutureDate, codes.WrongCreationDate},
		{"121", semdgen.DefectBeforeKindStart, codes.NoDocumentKindOnDate},
		{"121", semdgen.DefectBadTime, codes.ValidationError},
		{"121", semdgen.DefectNoPatient, codes.PatientOccurrence},
		{"121", semdgen.DefectWrongRealm, codes.ValidationError},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+string(tt.defect), func(t *testing.T) {
			d := semdgen.MustBuild(semdgen.Options{Kind: tt.kind, Org: org, Defects: []semdgen.Defect{tt.defect},
				Rand: rand.New(rand.NewPCG(3, 4))})
			doc, err := semd.Parse(d.XML)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = semd.Check(doc, semd.Claims{Kind: tt.kind, LocalID: d.ID, SubmitterOrg: org.OID, Now: time.Now()})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			var ce *semd.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("want *CheckError with %s, got %v", tt.code, err)
			}
			found := false
			for _, p := range ce.Problems {
				found = found || p.Code == tt.code
			}
			if !found {
				t.Fatalf("want %s among problems, got %+v", tt.code, ce.Problems)
			}
		})
	}
}

func TestCheckClaims(t *testing.T) {
	org := semdgen.NewOrg(77, 2)
	d := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: org})
	doc, err := semd.Parse(d.XML)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cl   semd.Claims
		code string
	}{
		{"ok", semd.Claims{Kind: "119", LocalID: d.ID, SubmitterOrg: org.OID}, ""},
		{"unknown kind", semd.Claims{Kind: "99999", LocalID: d.ID, SubmitterOrg: org.OID}, codes.ObjectNotFound},
		{"kind disagrees", semd.Claims{Kind: "121", LocalID: d.ID, SubmitterOrg: org.OID}, codes.AttributeMismatch},
		{"local id disagrees", semd.Claims{Kind: "119", LocalID: "other", SubmitterOrg: org.OID}, codes.AttributeMismatch},
		{"another organisation", semd.Claims{Kind: "119", LocalID: d.ID, SubmitterOrg: semdgen.NewOrg(77, 3).OID}, codes.SignerOrgMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semd.Check(doc, tt.cl)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *semd.CheckError
			if !errors.As(err, &ce) || ce.Code() != tt.code {
				t.Fatalf("want %s first, got %v", tt.code, err)
			}
		})
	}
}

func TestParseRefusesNonCDA(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"empty", "", codes.InvalidContent},
		{"garbage", "not xml at all", codes.InvalidContent},
		{"unclosed", `<ClinicalDocument xmlns="urn:hl7-org:v3"><id>`, codes.InvalidContent},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, codes.InvalidContent},
		{"unknown entity", `<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>`, codes.InvalidContent},
		{"wrong namespace", `<ClinicalDocument xmlns="urn:other"/>`, codes.InvalidDocContentType},
		{"wrong root", `<Bundle xmlns="urn:hl7-org:v3"/>`, codes.InvalidDocContentType},
		{"two roots", `<ClinicalDocument xmlns="urn:hl7-org:v3"/><ClinicalDocument xmlns="urn:hl7-org:v3"/>`, codes.InvalidContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semd.Parse([]byte(tt.in))
			var pe *semd.ParseError
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("want %s, got %v", tt.code, err)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	org := semdgen.NewOrg(16, 9)
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: org, ID: "DC-42"})
	doc, err := semd.Parse(d.XML)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID.Root != org.Root("51") || doc.ID.Extension != "DC-42" || doc.SetID.Root != org.Root("50") {
		t.Fatalf("ids: %+v %+v", doc.ID, doc.SetID)
	}
	// The custodian carries no ОГРН (the official schemas have no place for
	// it); the patient's providerOrganization of the same OID does.
	if doc.Code.Code != "13" || doc.Custodian.OID != org.OID || doc.Custodian.OGRN != "" || doc.Patient == nil || doc.Patient.ProviderOGRN != org.OGRN {
		t.Fatalf("code/custodian: %+v %+v", doc.Code, doc.Custodian)
	}
	if doc.Patient == nil || doc.Patient.ENP != d.Patient.ENP || doc.Patient.Family != d.Patient.Family ||
		doc.Patient.BirthDate != d.Patient.BirthDate.Format("20060102") || doc.Patient.LocalID.Root != org.Root("10") {
		t.Fatalf("patient: %+v", doc.Patient)
	}
	if doc.Author == nil || doc.LegalAuthenticator == nil || !strings.HasSuffix(doc.Author.LocalID.Root, ".70") {
		t.Fatalf("author: %+v", doc.Author)
	}
	if doc.Series != d.Series || doc.Number != d.Number || len(doc.Number) != 9 {
		t.Fatalf("series/number: %q %q", doc.Series, doc.Number)
	}
	if doc.VersionNumber != 1 || doc.EffectiveTime.IsZero() {
		t.Fatalf("version/time: %d %v", doc.VersionNumber, doc.EffectiveTime)
	}
}

func TestParseTS(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"20240131", true}, {"202401311230+0300", true}, {"20240131123005+0300", true},
		{"202401311230", false}, {"2024-01-31", false}, {"20241331", false}, {"", false},
	} {
		if _, err := semd.ParseTS(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseTS(%q) err=%v want ok=%v", tt.in, err, tt.ok)
		}
	}
}
