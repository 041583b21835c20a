package sim

import (
	"fmt"
	"net/http"
	"time"

	"github.com/emdhub/hub/adapters/epgu/epgusoap"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/soapx"
)

// Portal simulates ЕПГУ notifications. Citizens listed in NoAccount have no
// portal account: their notifications get the permanent NO_PORTAL_ACCOUNT fault.
type Portal struct {
	*Peer
	noAccount map[string]bool
	seq       int
}

// NewPortal returns an ЕПГУ simulator.
func NewPortal() *Portal {
	p := &Portal{Peer: newPeer("epgu", func(code, msg string) any {
		c := epgusoap.FaultCode(code)
		return &epgusoap.ServiceFault{Code: &c, Message: msg}
	}), noAccount: map[string]bool{}}
	p.handle("SendNotification", p.send)
	p.mux.HandleFunc("POST /control/no-account/{snils}", func(w http.ResponseWriter, r *http.Request) {
		p.SetNoAccount(r.PathValue("snils"))
		writeJSON(w, map[string]string{"no_account": r.PathValue("snils")})
	})
	return p
}

// SetNoAccount marks citizens without a portal account.
func (p *Portal) SetNoAccount(snils ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range snils {
		p.noAccount[s] = true
	}
}

// SetNoAccountCleared gives citizens a portal account again.
func (p *Portal) SetNoAccountCleared(snils ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range snils {
		delete(p.noAccount, s)
	}
}

func (p *Portal) send(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req epgusoap.SendNotificationRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	if req.MessageID == nil || req.RecipientSNILS == nil || req.Event == nil {
		return "", nil, fmt.Errorf("MessageID, RecipientSNILS and Event are required")
	}
	return string(*req.MessageID), func() (any, *Fault) {
		snils := string(*req.RecipientSNILS)
		if _, err := ids.ValidateSNILS(snils); err != nil {
			return nil, &Fault{Code: "VALIDATION_ERROR", Msg: err.Error()}
		}
		if p.noAccount[snils] {
			return nil, &Fault{Code: "NO_PORTAL_ACCOUNT", Msg: "the citizen has no confirmed ЕПГУ account; notify them another way"}
		}
		p.seq++
		id := epgusoap.NonEmpty(fmt.Sprintf("EPGU-%09d", p.seq))
		st := epgusoap.AcceptStatusACCEPTED
		return &epgusoap.SendNotificationResponse{NotificationID: &id, Status: &st, ReceivedAt: soapTime(time.Now())}, nil
	}, nil
}
