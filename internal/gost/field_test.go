package gost

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestFieldMatchesBig checks mul, add and sub of both widths against
// math/big on random and edge values.
func TestFieldMatchesBig(t *testing.T) {
	// Pseudo-Mersenne (folding) and Montgomery fields of both widths.
	for _, c := range []*Curve{CurveTC26256A, CurveCryptoProB, CurveTC26512A, CurveTC26512B, CurveCryptoProA, CurveTC26512C, CurveTest256} {
		switch c.size {
		case 32:
			fieldMatchesBig(t, c.Name, newField[[4]uint64](c.P))
		case 64:
			fieldMatchesBig(t, c.Name, newField[[8]uint64](c.P))
		}
	}
}

func fieldMatchesBig[E limbs](t *testing.T, name string, f *field[E]) {
	p := f.pBig
	vals := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(p, big.NewInt(2)),
		new(big.Int).Rsh(p, 1), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(p.BitLen()-1)), big.NewInt(1))}
	for i := 0; i < 400; i++ {
		v, _ := rand.Int(rand.Reader, p)
		vals = append(vals, v)
	}
	for i, a := range vals {
		for _, b := range []*big.Int{vals[(i*7+3)%len(vals)], a, vals[3]} {
			x, y := f.fromInt(a), f.fromInt(b)
			var z E
			f.mul(&z, &x, &y)
			if got, want := f.toInt(&z), new(big.Int).Mod(new(big.Int).Mul(a, b), p); got.Cmp(want) != 0 {
				t.Fatalf("%s: %x·%x = %x, want %x", name, a, b, got, want)
			}
			f.sqr(&z, &x)
			if got, want := f.toInt(&z), new(big.Int).Mod(new(big.Int).Mul(a, a), p); got.Cmp(want) != 0 {
				t.Fatalf("%s: %x² = %x, want %x", name, a, got, want)
			}
			f.add(&z, &x, &y)
			if got, want := f.toInt(&z), new(big.Int).Mod(new(big.Int).Add(a, b), p); got.Cmp(want) != 0 {
				t.Fatalf("%s: %x+%x = %x, want %x", name, a, b, got, want)
			}
			f.sub(&z, &x, &y)
			if got, want := f.toInt(&z), new(big.Int).Mod(new(big.Int).Sub(a, b), p); got.Cmp(want) != 0 {
				t.Fatalf("%s: %x−%x = %x, want %x", name, a, b, got, want)
			}
		}
	}
}

// TestGeneratedMontIsCurrent regenerates mont_gen.go and compares.
func TestGeneratedMontIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mont_gen.out") // not .go: go run would compile it
	cmd := exec.Command("go", "run", "gen_mont.go", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_mont.go: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("mont_gen.go")
	if !bytes.Equal(got, want) {
		t.Fatal("mont_gen.go differs from what gen_mont.go writes: run go generate ./internal/gost")
	}
}

func BenchmarkFieldMul(b *testing.B) {
	f4 := newField[[4]uint64](CurveTC26256A.P)
	x := f4.fromInt(big.NewInt(12345678))
	y := f4.fromInt(new(big.Int).Sub(CurveTC26256A.P, big.NewInt(99)))
	b.Run("4", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f4.mul(&x, &x, &y)
		}
	})
	f8 := newField[[8]uint64](CurveTC26512A.P)
	x8 := f8.fromInt(big.NewInt(12345678))
	y8 := f8.fromInt(new(big.Int).Sub(CurveTC26512A.P, big.NewInt(99)))
	b.Run("8", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f8.mul(&x8, &x8, &y8)
		}
	})
}

// TestAsmMatchesGo compares the assembly products (pm_amd64.s) with the Go
// ones of mont_gen.go and with math/big, on random values, values near p
// and near 2^(64n) and on every pseudo-Mersenne prime of the package (the
// two run the same on CPUs without MULX, and the test then checks Go
// against math/big only).
func TestAsmMatchesGo(t *testing.T) {
	if !hasMULX {
		t.Log("no BMI2/ADX: the Go products serve; comparing them with math/big")
	}
	for _, c := range []*Curve{CurveTC26256A, CurveCryptoProA, CurveTC26512A, CurveTC26512C} {
		switch c.size {
		case 32:
			asmMatches(t, c, newField[[4]uint64](c.P), pmMulAsm4, pmMul4)
		case 64:
			asmMatches(t, c, newField[[8]uint64](c.P), pmMulAsm8, pmMul8)
		}
	}
}

func asmMatches[E limbs](t *testing.T, c *Curve, f *field[E], asm, gomul func(z, x, y *E, c uint64)) {
	if f.c == 0 {
		t.Fatalf("%s: not a pseudo-Mersenne prime", c.Name)
	}
	p := c.P
	one := big.NewInt(1)
	vals := []*big.Int{big.NewInt(0), one, new(big.Int).Sub(p, one), new(big.Int).Sub(p, big.NewInt(2)),
		new(big.Int).Rsh(p, 1), new(big.Int).Sub(new(big.Int).Lsh(one, uint(p.BitLen()-1)), one), big.NewInt(int64(f.c))}
	for i := 0; i < 3000; i++ {
		v, _ := rand.Int(rand.Reader, p)
		vals = append(vals, v)
	}
	for i, a := range vals {
		for _, b := range []*big.Int{a, vals[(i*13+1)%len(vals)], vals[2]} {
			x, y := toLimbs[E](a), toLimbs[E](b)
			var za, zg E
			asm(&za, &x, &y, f.c)
			gomul(&zg, &x, &y, f.c)
			want := new(big.Int).Mod(new(big.Int).Mul(a, b), p)
			if got := fromLimbs(&za); got.Cmp(want) != 0 || za != zg {
				t.Fatalf("%s: %x·%x: assembly %x, Go %x, want %x", c.Name, a, b, got, fromLimbs(&zg), want)
			}
			za = x // aliasing: z is x
			asm(&za, &za, &y, f.c)
			if got := fromLimbs(&za); got.Cmp(want) != 0 {
				t.Fatalf("%s: %x·%x in place: %x, want %x", c.Name, a, b, got, want)
			}
		}
	}
}

// TestAsmSqrMatchesGo compares the assembly squarings of 4 and 8 limbs
// with the Go ones and math/big.
func TestAsmSqrMatchesGo(t *testing.T) {
	for _, c := range []*Curve{CurveTC26256A, CurveCryptoProA} {
		sqrMatches(t, c, newField[[4]uint64](c.P), pmSqrAsm4, pmSqr4)
	}
	for _, c := range []*Curve{CurveTC26512A, CurveTC26512C} {
		sqrMatches(t, c, newField[[8]uint64](c.P), pmSqrAsm8, pmSqr8)
	}
}

func sqrMatches[E limbs](t *testing.T, c *Curve, f *field[E], asm, gosqr func(z, x *E, c uint64)) {
	one := big.NewInt(1)
	vals := []*big.Int{big.NewInt(0), one, new(big.Int).Sub(c.P, one), new(big.Int).Sub(c.P, big.NewInt(2)), new(big.Int).Rsh(c.P, 1)}
	for i := 0; i < 5000; i++ {
		v, _ := rand.Int(rand.Reader, c.P)
		vals = append(vals, v)
	}
	for _, a := range vals {
		x := toLimbs[E](a)
		var za, zg E
		asm(&za, &x, f.c)
		gosqr(&zg, &x, f.c)
		want := new(big.Int).Mod(new(big.Int).Mul(a, a), c.P)
		if got := fromLimbs(&za); got.Cmp(want) != 0 || za != zg {
			t.Fatalf("%s: %x²: assembly %x, Go %x, want %x", c.Name, a, got, fromLimbs(&zg), want)
		}
		asm(&x, &x, f.c)
		if x != za {
			t.Fatalf("%s: %x² in place: %x", c.Name, a, fromLimbs(&x))
		}
	}
}

// TestAsmAddSubMatchesBig checks the 4-limb assembly addition and
// subtraction modulo a pseudo-Mersenne prime against math/big, with the
// values next to 0, p and 2^256 where the corrections happen.
func TestAsmAddSubMatchesBig(t *testing.T) {
	for _, c := range []*Curve{CurveTC26256A, CurveCryptoProA} {
		f := newField[[4]uint64](c.P)
		one := big.NewInt(1)
		vals := []*big.Int{big.NewInt(0), one, new(big.Int).Sub(c.P, one), new(big.Int).Sub(c.P, big.NewInt(2)), new(big.Int).Rsh(c.P, 1),
			new(big.Int).Add(new(big.Int).Rsh(c.P, 1), one), big.NewInt(int64(f.c))}
		for i := 0; i < 2000; i++ {
			v, _ := rand.Int(rand.Reader, c.P)
			vals = append(vals, v)
		}
		for i, a := range vals {
			for _, b := range []*big.Int{a, vals[(i*7+1)%len(vals)], vals[2], vals[0]} {
				x, y := toLimbs[[4]uint64](a), toLimbs[[4]uint64](b)
				var z [4]uint64
				pmAddAsm4(&z, &x, &y, f.c)
				if got, want := fromLimbs(&z), new(big.Int).Mod(new(big.Int).Add(a, b), c.P); got.Cmp(want) != 0 {
					t.Fatalf("%s: %x+%x = %x, want %x", c.Name, a, b, got, want)
				}
				pmSubAsm4(&z, &x, &y, f.c)
				if got, want := fromLimbs(&z), new(big.Int).Mod(new(big.Int).Sub(a, b), c.P); got.Cmp(want) != 0 {
					t.Fatalf("%s: %x−%x = %x, want %x", c.Name, a, b, got, want)
				}
			}
		}
	}
}

// TestGeneratedAsmIsCurrent regenerates pm_amd64.s and compares.
func TestGeneratedAsmIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pm_amd64.out")
	cmd := exec.Command("go", "run", "gen_asm.go", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_asm.go: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("pm_amd64.s")
	if !bytes.Equal(got, want) {
		t.Fatal("pm_amd64.s differs from what gen_asm.go writes: run go generate ./internal/gost")
	}
}
