package sim

import (
	"fmt"
	"time"

	"github.com/emdhub/hub/adapters/zags/zagssoap"
	"github.com/emdhub/hub/internal/soapx"
)

// Registry simulates ЕГР ЗАГС: it takes a medical certificate whose СЭМД
// is well-formed and whose series and number match the request, and answers a repeat
// of the same message id — or of the same series and number under another
// id — with the original receipt.
type Registry struct {
	*Peer
	bySeries map[string]zagssoap.SubmitMedicalCertificateResponse // series+number → first answer
	seq      int
}

// NewRegistry returns a ЕГР ЗАГС simulator.
func NewRegistry() *Registry {
	z := &Registry{Peer: newPeer("zags", func(code, msg string) any {
		c := zagssoap.FaultCode(code)
		return &zagssoap.ServiceFault{Code: &c, Message: msg}
	}), bySeries: map[string]zagssoap.SubmitMedicalCertificateResponse{}}
	z.handle("SubmitMedicalCertificate", z.submit)
	return z
}

func (z *Registry) submit(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req zagssoap.SubmitMedicalCertificateRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	if req.MessageID == nil || req.Series == nil || req.Number == nil || req.Document == nil || req.Document.Content == nil || req.CertificateType == nil {
		return "", nil, fmt.Errorf("MessageID, CertificateType, Series, Number and Document are required")
	}
	return string(*req.MessageID), func() (any, *Fault) {
		series, number := string(*req.Series), string(*req.Number)
		// The door's fast header read, not semd.Parse: the series and number are all
		// the registry compares, and the full parse cost ~10× as much CPU in
		// the process that measures the hub (scan.go, BenchmarkZAGSSeriesNumber).
		docSeries, docNumber, err := certificateSeriesNumber(*req.Document.Content)
		if err != nil {
			return nil, &Fault{Code: "VALIDATION_ERROR", Msg: "the certificate СЭМД does not parse: " + err.Error()}
		}
		if docSeries != series || docNumber != number {
			return nil, &Fault{Code: "REFUSED", Msg: fmt.Sprintf("series/number %s %s differ from the document's %s %s", series, number, docSeries, docNumber)}
		}
		key := string(*req.CertificateType) + "\x00" + series + "\x00" + number
		if prev, ok := z.bySeries[key]; ok {
			// Same certificate under another message id: the original receipt, marked duplicate.
			dup := zagssoap.AcceptStatusDUPLICATE
			prev.Status = &dup
			return repeat{&prev}, nil
		}
		z.seq++
		id := zagssoap.NonEmpty(fmt.Sprintf("ZAGS-%s-%08d", series, z.seq))
		st := zagssoap.AcceptStatusACCEPTED
		res := zagssoap.SubmitMedicalCertificateResponse{RecordID: &id, Status: &st, ReceivedAt: soapTime(time.Now())}
		z.bySeries[key] = res
		return &res, nil
	}, nil
}
