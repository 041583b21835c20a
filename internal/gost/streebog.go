// Package gost implements the Russian GOST algorithms the hub needs to check
// signatures: the hash function GOST R 34.11-2012 "Streebog" (256 and 512
// bits) and, in gost3410.go, signature verification of GOST R 34.10-2012.
//
// It is written here from the published standard (RFC 6986, RFC 7091, RFC
// 7836) because the only Go implementation the module proxy serves is GPL
// and the hub stays permissively licensed. It verifies only: signing keys
// never live in the hub. Verification handles public data, so the code is
// not constant-time.
//
// Byte order: digests are produced as OpenSSL's gost engine and CryptoPro
// produce them (the little-endian encoding of the 512-bit value of the RFC),
// which is what CMS messageDigest attributes carry.
package gost

import (
	"encoding/binary"
	"hash"
)

// lpsTable[j][b] = l(π(b) placed at byte j of a 64-bit word): the S, P and L
// transformations of one byte folded into one lookup (computed at init from
// π and A, so the source holds only the standard's own tables).
var lpsTable [8][256]uint64

func init() {
	for j := 0; j < 8; j++ {
		for b := 0; b < 256; b++ {
			w := uint64(pi[b]) << (8 * j)
			var r uint64
			for bit := 0; bit < 64; bit++ {
				if w>>bit&1 == 1 {
					r ^= matA[63-bit]
				}
			}
			lpsTable[j][b] = r
		}
	}
}

type block [8]uint64

func load(b []byte) (x block) {
	for i := range x {
		x[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return
}

func (x *block) bytes(out []byte) {
	for i := range x {
		binary.LittleEndian.PutUint64(out[8*i:], x[i])
	}
}

// lpsx sets dst = L∘P∘S(a ⊕ b) on 512-bit states; dst must not alias a or b.
// The state is held in eight locals so it stays in registers.
func lpsx(dst, a, b *block) {
	x0, x1, x2, x3 := a[0]^b[0], a[1]^b[1], a[2]^b[2], a[3]^b[3]
	x4, x5, x6, x7 := a[4]^b[4], a[5]^b[5], a[6]^b[6], a[7]^b[7]
	t := &lpsTable
	dst[0] = t[0][byte(x0)] ^ t[1][byte(x1)] ^ t[2][byte(x2)] ^ t[3][byte(x3)] ^
		t[4][byte(x4)] ^ t[5][byte(x5)] ^ t[6][byte(x6)] ^ t[7][byte(x7)]
	dst[1] = t[0][byte(x0>>8)] ^ t[1][byte(x1>>8)] ^ t[2][byte(x2>>8)] ^ t[3][byte(x3>>8)] ^
		t[4][byte(x4>>8)] ^ t[5][byte(x5>>8)] ^ t[6][byte(x6>>8)] ^ t[7][byte(x7>>8)]
	dst[2] = t[0][byte(x0>>16)] ^ t[1][byte(x1>>16)] ^ t[2][byte(x2>>16)] ^ t[3][byte(x3>>16)] ^
		t[4][byte(x4>>16)] ^ t[5][byte(x5>>16)] ^ t[6][byte(x6>>16)] ^ t[7][byte(x7>>16)]
	dst[3] = t[0][byte(x0>>24)] ^ t[1][byte(x1>>24)] ^ t[2][byte(x2>>24)] ^ t[3][byte(x3>>24)] ^
		t[4][byte(x4>>24)] ^ t[5][byte(x5>>24)] ^ t[6][byte(x6>>24)] ^ t[7][byte(x7>>24)]
	dst[4] = t[0][byte(x0>>32)] ^ t[1][byte(x1>>32)] ^ t[2][byte(x2>>32)] ^ t[3][byte(x3>>32)] ^
		t[4][byte(x4>>32)] ^ t[5][byte(x5>>32)] ^ t[6][byte(x6>>32)] ^ t[7][byte(x7>>32)]
	dst[5] = t[0][byte(x0>>40)] ^ t[1][byte(x1>>40)] ^ t[2][byte(x2>>40)] ^ t[3][byte(x3>>40)] ^
		t[4][byte(x4>>40)] ^ t[5][byte(x5>>40)] ^ t[6][byte(x6>>40)] ^ t[7][byte(x7>>40)]
	dst[6] = t[0][byte(x0>>48)] ^ t[1][byte(x1>>48)] ^ t[2][byte(x2>>48)] ^ t[3][byte(x3>>48)] ^
		t[4][byte(x4>>48)] ^ t[5][byte(x5>>48)] ^ t[6][byte(x6>>48)] ^ t[7][byte(x7>>48)]
	dst[7] = t[0][byte(x0>>56)] ^ t[1][byte(x1>>56)] ^ t[2][byte(x2>>56)] ^ t[3][byte(x3>>56)] ^
		t[4][byte(x4>>56)] ^ t[5][byte(x5>>56)] ^ t[6][byte(x6>>56)] ^ t[7][byte(x7>>56)]
}

var roundC [12]block

func init() {
	for i := range iterC {
		roundC[i] = load(iterC[i][:])
	}
}

// g is the compression function g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m,
// computed into h.
func g(n, h, m *block) {
	var kb, kb2, tb, tb2 block
	k, k2, t, t2 := &kb, &kb2, &tb, &tb2
	lpsx(k, h, n)
	lpsx(t, m, k)
	for i := 0; i < 11; i++ {
		lpsx(k2, k, &roundC[i])
		lpsx(t2, t, k2)
		k, k2, t, t2 = k2, k, t2, t
	}
	lpsx(k2, k, &roundC[11])
	for i := range h {
		h[i] ^= t[i] ^ k2[i] ^ m[i]
	}
}

// add512 is addition modulo 2^512.
func add512(a, b block) (r block) {
	var carry uint64
	for i := range r {
		s := a[i] + b[i]
		c1 := uint64(0)
		if s < a[i] {
			c1 = 1
		}
		s2 := s + carry
		if s2 < s {
			c1 = 1
		}
		r[i], carry = s2, c1
	}
	return
}

// Hash is a Streebog hash state; it implements hash.Hash.
type Hash struct {
	size   int // 32 or 64
	h, n   block
	sigma  block
	buf    [64]byte
	buffed int
}

// New256 returns a Streebog-256 hash.
func New256() *Hash { d := &Hash{size: 32}; d.Reset(); return d }

// New512 returns a Streebog-512 hash.
func New512() *Hash { d := &Hash{size: 64}; d.Reset(); return d }

var _ hash.Hash = (*Hash)(nil)

// Reset implements hash.Hash.
func (d *Hash) Reset() {
	var iv uint64
	if d.size == 32 {
		iv = 0x0101010101010101
	}
	for i := range d.h {
		d.h[i] = iv
	}
	d.n, d.sigma, d.buffed = block{}, block{}, 0
}

// Size implements hash.Hash.
func (d *Hash) Size() int { return d.size }

// BlockSize implements hash.Hash.
func (d *Hash) BlockSize() int { return 64 }

var block512 = block{512}

func (d *Hash) compress(m block) {
	g(&d.n, &d.h, &m)
	d.n = add512(d.n, block512)
	d.sigma = add512(d.sigma, m)
}

// Write implements hash.Hash.
func (d *Hash) Write(p []byte) (int, error) {
	n := len(p)
	if d.buffed > 0 {
		c := copy(d.buf[d.buffed:], p)
		d.buffed += c
		p = p[c:]
		if d.buffed == 64 && len(p) > 0 {
			d.compress(load(d.buf[:]))
			d.buffed = 0
		}
	}
	// Keep the last block buffered: the final block is treated specially
	// only when it is short, but buffering uniformly keeps Sum simple.
	for len(p) > 64 {
		d.compress(load(p[:64]))
		p = p[64:]
	}
	if len(p) > 0 {
		d.buffed = copy(d.buf[:], p)
	}
	return n, nil
}

// Sum implements hash.Hash: it appends the digest without changing the state.
func (d *Hash) Sum(in []byte) []byte {
	c := *d
	if c.buffed == 64 {
		c.compress(load(c.buf[:]))
		c.buffed = 0
	}
	var last [64]byte
	copy(last[:], c.buf[:c.buffed])
	last[c.buffed] = 0x01
	m := load(last[:])
	g(&c.n, &c.h, &m)
	c.n = add512(c.n, block{uint64(c.buffed) * 8})
	c.sigma = add512(c.sigma, m)
	var zero block
	g(&zero, &c.h, &c.n)
	g(&zero, &c.h, &c.sigma)
	var out [64]byte
	c.h.bytes(out[:])
	if c.size == 32 {
		return append(in, out[32:]...)
	}
	return append(in, out[:]...)
}

// Sum256 returns the Streebog-256 digest of data.
func Sum256(data []byte) [32]byte {
	var out [32]byte
	d := New256()
	d.Write(data)
	copy(out[:], d.Sum(nil))
	return out
}

// Sum512 returns the Streebog-512 digest of data.
func Sum512(data []byte) [64]byte {
	var out [64]byte
	d := New512()
	d.Write(data)
	copy(out[:], d.Sum(nil))
	return out
}
