package gost

import (
	"crypto/hmac"
	"encoding/hex"
	"hash"
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
		// M2 and its digests as the RFC prints them (most significant byte
		// first), reversed into byte order: the CP1251 text «Се ветри,
		// Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы».
		{"M2", reversed("fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"),
			hex.EncodeToString(reversed("28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f037613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e")),
			hex.EncodeToString(reversed("508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d"))},
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

// RFC 7836 appendix B (R 50.1.113-2016): HMAC_GOSTR3411_2012_256 and _512
// with K = 00..1f and T = 0126bdb87800af214341456563780100.
func TestHMACRFC7836(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	data, _ := hex.DecodeString("0126bdb87800af214341456563780100")
	for _, tc := range []struct {
		name string
		new  func() hash.Hash
		want string
	}{
		{"HMAC_GOSTR3411_2012_256", func() hash.Hash { return New256() }, "a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9"},
		{"HMAC_GOSTR3411_2012_512", func() hash.Hash { return New512() }, "a59bab22ecae19c65fbde6e5f4e9f5d8549d31f037f9df9b905500e171923a77" +
			"3d5f1530f2ed7e964cb2eedc29e9ad2f3afe93b2814f79f5000ffc0366c251e6"},
	} {
		m := hmac.New(tc.new, key)
		m.Write(data)
		if got := hex.EncodeToString(m.Sum(nil)); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// reversed decodes hex and reverses the bytes (RFC 6986 prints vectors as
// numbers, most significant byte first).
func reversed(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}
