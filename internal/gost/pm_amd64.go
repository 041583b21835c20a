//go:build amd64 && !purego

package gost

//go:generate go run gen_asm.go

// The pseudo-Mersenne products in assembly (pm_amd64.s, from gen_asm.go):
// MULX with the two carry chains of ADCX and ADOX, about twice the speed of
// the Go code in mont_gen.go, which stays for other CPUs and as the
// reference the tests compare the assembly with.

//go:noescape
func pmMulAsm4(z, x, y *[4]uint64, c uint64)

//go:noescape
func pmMulAsm8(z, x, y *[8]uint64, c uint64)

//go:noescape
func pmSqrAsm4(z, x *[4]uint64, c uint64)

//go:noescape
func pmSqrAsm8(z, x *[8]uint64, c uint64)

//go:noescape
func pmAddAsm4(z, x, y *[4]uint64, c uint64)

//go:noescape
func pmSubAsm4(z, x, y *[4]uint64, c uint64)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// hasMULX reports BMI2 (MULX) and ADX (ADCX, ADOX): CPUID leaf 7, EBX bits
// 8 and 19.
var hasMULX = func() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<8) != 0 && ebx&(1<<19) != 0
}()
