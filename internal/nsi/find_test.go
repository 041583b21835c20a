package nsi

import "testing"

// TestKindsOf finds the kinds from a document's type and templateId: one for
// most, both twins for a birth certificate of edition 4 or a paper-form
// death certificate, none for a template
// of another edition or a type that does not go with it.
func TestKindsOf(t *testing.T) {
	tests := []struct {
		typ, root string
		want      []string
	}{
		{"34", "1.2.643.5.1.13.13.14.34.9.6", []string{"121"}},
		{"13", "1.2.643.5.1.13.2.7.5.1.13.9.5", []string{"58"}},
		{"353", "1.2.643.5.1.13.13.14.353.9.5", []string{"113", "58"}},
		{"14", "1.2.643.5.1.13.2.7.5.1.14.9.2", []string{"59"}},
		{"33", "1.2.643.5.1.13.2.7.5.1.33.9.4", []string{"118", "76"}},
		{"34", "1.2.643.5.1.13.13.14.34.9.99", nil},
		{"13", "1.2.643.5.1.13.13.14.34.9.6", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, k := range KindsOf(tt.typ, tt.root) {
			got = append(got, k.Kind)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s %s: got %v, want %v", tt.typ, tt.root, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s %s: got %v, want %v", tt.typ, tt.root, got, tt.want)
			}
		}
	}
}
