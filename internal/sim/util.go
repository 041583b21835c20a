package sim

import (
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// soapTime renders a time as xs:dateTime with its zone.
func soapTime(t time.Time) soap.XSDDateTime {
	return soap.CreateXsdDateTime(t.UTC().Truncate(time.Millisecond), true)
}
