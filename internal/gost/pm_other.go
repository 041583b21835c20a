//go:build !amd64 || purego

package gost

// Without the assembly (pm_amd64.s) the Go products of mont_gen.go serve.

const hasMULX = false

func pmMulAsm4(z, x, y *[4]uint64, c uint64) { pmMul4(z, x, y, c) }

func pmMulAsm8(z, x, y *[8]uint64, c uint64) { pmMul8(z, x, y, c) }

func pmSqrAsm4(z, x *[4]uint64, c uint64) { pmSqr4(z, x, c) }

func pmSqrAsm8(z, x *[8]uint64, c uint64) { pmSqr8(z, x, c) }

func pmAddAsm4(z, x, y *[4]uint64, c uint64) { p := pmPrime4(c); montAdd4(z, x, y, &p) }

func pmSubAsm4(z, x, y *[4]uint64, c uint64) { p := pmPrime4(c); montSub4(z, x, y, &p) }

// pmPrime4 returns 2^256 − c.
func pmPrime4(c uint64) [4]uint64 { return [4]uint64{-c, ^uint64(0), ^uint64(0), ^uint64(0)} }
