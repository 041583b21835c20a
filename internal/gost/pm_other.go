//go:build !amd64 || purego

package gost

// Without the assembly (pm_amd64.s) the Go products of mont_gen.go serve.

const hasMULX = false

func pmMulAsm4(z, x, y *[4]uint64, c uint64) { pmMul4(z, x, y, c) }

func pmMulAsm8(z, x, y *[8]uint64, c uint64) { pmMul8(z, x, y, c) }

func pmSqrAsm4(z, x *[4]uint64, c uint64) { pmSqr4(z, x, c) }

func pmSqrAsm8(z, x *[8]uint64, c uint64) { pmSqr8(z, x, c) }
