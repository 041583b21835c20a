package msesoap

import "github.com/emdhub/hub/internal/soapx"

// MarshalText writes xs:base64Binary as base64. gowsdl v0.5.0 maps it to a
// byte slice, which encoding/xml would write as raw text (go-notes §2.5).
func (b Base64Data) MarshalText() ([]byte, error) { return soapx.EncodeBase64(b), nil }

// UnmarshalText reads xs:base64Binary (whitespace allowed, as XSD permits).
func (b *Base64Data) UnmarshalText(text []byte) error {
	v, err := soapx.DecodeBase64(text)
	*b = v
	return err
}
