package signature

import (
	"errors"
	"time"

	"github.com/emdhub/hub/internal/metrics"
)

// verifyObserved is verifyCrypto timed for /metrics: each cryptographic
// verification (not a cache hit) with its result, ok or the code.
func (v *Verifier) verifyObserved(content *Content, der []byte) (*Parsed, error) {
	start := time.Now()
	p, err := v.verifyCrypto(content, der)
	result := "ok"
	if err != nil {
		result = "error"
		var se *Error
		if errors.As(err, &se) {
			result = se.Code
		}
	}
	metrics.SignatureVerified(result, time.Since(start))
	return p, err
}
