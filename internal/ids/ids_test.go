package ids

import (
	"errors"
	"testing"
)

func TestValidateSNILS(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		norm   string
		reason string
	}{
		{"112-233-445 95", true, "11223344595", ""},
		{"112-233-445 96", false, "", ReasonChecksum},
		{"123-456-789 64", true, "12345678964", ""},
		{"001-508-815 00", true, "00150881500", ""},
		{"006-996-682 00", true, "00699668200", ""},
		{"001-001-998 00", true, "00100199800", ""}, // not checked below the threshold
		{"001-001-999 00", false, "", ReasonChecksum},
		{"11223344595", true, "11223344595", ""},
		{"1122334459", false, "", ReasonFormat},
		{"112-233-445 9x", false, "", ReasonFormat},
		{"000-000-000 00", false, "", ReasonZero},
		{"", false, "", ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ValidateSNILS(tt.in)
			if tt.ok {
				if err != nil || got != tt.norm {
					t.Fatalf("ValidateSNILS(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.norm)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("ValidateSNILS(%q) err = %v; want reason %s", tt.in, err, tt.reason)
			}
		})
	}
}

func TestSNILSControlGenerates(t *testing.T) {
	if c := SNILSControl("123456789"); c != 64 {
		t.Fatalf("control of 123456789 = %d, want 64", c)
	}
	if FormatSNILS("11223344595") != "112-233-445 95" {
		t.Fatal("FormatSNILS")
	}
}

func TestValidateENP(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		reason string
	}{
		{"8451999122899990", true, ""},
		{"7700000000000016", true, ""},
		{"7700000000000017", false, ReasonChecksum},
		{"770000000000001", false, ReasonFormat},
		{"77000000000000a6", false, ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ValidateENP(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ValidateENP(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			var e *Error
			if !tt.ok && (!errors.As(err, &e) || e.Reason != tt.reason) {
				t.Fatalf("reason = %v, want %s", err, tt.reason)
			}
		})
	}
	if ENPControl("845199912289999") != 0 || ENPControl("770000000000001") != 6 {
		t.Fatal("ENPControl disagrees with the worked examples of domain.md §5.2")
	}
}

func TestValidateOGRN(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"1037739010891", true}, {"1027700220624", true}, {"1027700220625", false},
		{"102770022062", false}, {"10277002206a4", false},
	} {
		if err := ValidateOGRN(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateOGRN(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	// ОГРНИП: build one with the rule and check round trip and a flipped digit.
	p := "30450000000001"
	c := modDigits(p, 13) % 10
	good := p + string(rune('0'+c))
	if err := ValidateOGRNIP(good); err != nil {
		t.Fatalf("ValidateOGRNIP(%q) = %v", good, err)
	}
	bad := p + string(rune('0'+(c+1)%10))
	if err := ValidateOGRNIP(bad); err == nil {
		t.Fatalf("ValidateOGRNIP(%q) accepted a wrong control digit", bad)
	}
}

func TestOIDs(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"1.2.643.5.1.13.13.12.2.77.7973", true},
		{"1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51", true},
		{"1.2.643.05.1", false}, {"3.1", false}, {"1", false}, {"1.2.", false}, {"", false},
	} {
		if ValidOID(tt.in) != tt.ok {
			t.Errorf("ValidOID(%q) != %v", tt.in, tt.ok)
		}
	}
	if r, ok := RegionFromMOOID("1.2.643.5.1.13.13.12.2.16.1080"); !ok || r != "16" {
		t.Fatalf("region = %q %v", r, ok)
	}
	if _, ok := RegionFromMOOID("1.2.643.5.1.13"); ok {
		t.Fatal("region from non-ФРМО OID")
	}
	d, ok := ParseDocOID("1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51")
	if !ok || d.MOOID != "1.2.643.5.1.13.13.12.2.77.7973" || d.MIS != "1" || d.Instance != "1" || d.Suffix != "51" {
		t.Fatalf("ParseDocOID = %+v %v", d, ok)
	}
	if _, ok := ParseDocOID("1.2.643.5.1.13.13.12.2.77.7973.51"); ok {
		t.Fatal("accepted a root without .100.")
	}
}

func TestValidateOrgOGRN(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"1027700132195", true},    // ОГРН
		{"1027700132196", false},   // control digit
		{"304500116000157", true},  // ОГРНИП
		{"304500116000158", false}, // control digit
		{"12345678901234", false},  // 14 digits
		{"", false},
	} {
		if err := ValidateOrgOGRN(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateOrgOGRN(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}
