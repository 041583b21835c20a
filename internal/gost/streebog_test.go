package gost

import (
	"encoding/hex"
	"testing"
)

// RFC 6986 §10 examples, in the byte order OpenSSL's gost engine prints
// (`openssl dgst -engine gost -md_gost12_256`): M1 is the 63-byte ASCII
// string below; M2 is the 72-byte message of example 2.
func TestStreebogRFC6986(t *testing.T) {
	m1 := []byte("012345678901234567890123456789012345678901234567890123456789012")
	tests := []struct {
		name string
		msg  []byte
		d512 string
		d256 string
	}{
		{"M1", m1,
			"1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48",
			"9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"},
	}
	for _, tt := range tests {
		if got := Sum512(tt.msg); hex.EncodeToString(got[:]) != tt.d512 {
			t.Errorf("%s 512: %x", tt.name, got)
		}
		if got := Sum256(tt.msg); hex.EncodeToString(got[:]) != tt.d256 {
			t.Errorf("%s 256: %x", tt.name, got)
		}
	}
}
