package workflow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// VerifyCallback is what a МИС's receiver does with a notification, and
// the README shows this very function (TestReadmeShowsVerifyCallback keeps
// them equal), so it names headers and limits literally and imports
// nothing of the hub: it accepts the body if the timestamp is within 5
// minutes of now (an older one is a replay) and a signature in
// X-Hub-Signature or, during a secret rotation, X-Hub-Signature-Previous is
// HMAC-SHA256(secret, timestamp + "." + body), compared in constant time.
// A receiver should also drop a notification id it has already processed.
func VerifyCallback(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Hub-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no X-Hub-Timestamp")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return errors.New("timestamp more than 5 minutes from now: a replay, or a clock is wrong")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, name := range []string{"X-Hub-Signature", "X-Hub-Signature-Previous"} {
		got, err := hex.DecodeString(h.Get(name))
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("signature does not verify with this secret")
}
