package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/adapters/mse/msesoap"
	"github.com/emdhub/hub/internal/kind"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/soapx"
)

// Bureau simulates the MSE bureau. It accepts a package, checks that every
// document the referral's LINKDOCS lists is present, parses and matches its
// hash, and after ResultDelay produces a result СЭМД 187 — or, for an
// incomplete or invalid package, a return notice 130 — served by
// FetchResults until acknowledged. A referral is one case: the same referral
// document (CDA id root and extension) from the same sender, resent under a
// new message id, is answered with its case's original receipt marked
// DUPLICATE, counted as a duplicate, and produces no second result — even if
// the case was returned (a corrected referral is a new document, with a new
// id, in СЭМД practice).
type Bureau struct {
	*Peer
	// ResultDelay is how long the bureau "deliberates". Default 0.
	ResultDelay time.Duration
	// Org is the bureau as the custodian of its documents.
	Org semdgen.Org
	// ResultSigners sign its results; default semdgen.TestSigners(Org).
	// Set before use, to test how the hub treats badly signed results.
	ResultSigners *semdgen.Signers

	cases      map[string]*mseCase
	byReferral map[string]*mseCase // sender OID + referral CDA id → its case
	results    []*mseResult        // ordered by seq
	seq        int
	rng        *rand.Rand
}

type mseCase struct {
	id       string
	referral semd.II
	status   msesoap.CaseStatus
	updated  time.Time
	result   *mseResult
	receipt  msesoap.SendReferralResponse // the first answer
}

type mseResult struct {
	seq     int
	readyAt time.Time
	acked   bool
	item    *msesoap.ResultItem
}

// NewBureau returns a bureau simulator.
func NewBureau() *Bureau {
	b := &Bureau{
		Peer: newPeer("mse", func(code, msg string) any {
			c := msesoap.FaultCode(code)
			return &msesoap.ServiceFault{Code: &c, Message: msg}
		}),
		Org:   semdgen.Org{OID: "1.2.643.5.1.13.13.12.2.77.9001", Name: "ФКУ «ГБ МСЭ по г. Москве» Минтруда России", OGRN: "1027700220624", MIS: "1", Instance: "1"},
		cases: map[string]*mseCase{}, byReferral: map[string]*mseCase{},
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 187)),
	}
	b.handle("SendReferral", b.sendReferral)
	b.handle("GetReferralStatus", b.getStatus)
	b.handle("FetchResults", b.fetchResults)
	b.handle("AckResults", b.ackResults)
	return b
}

func nonEmpty(p *msesoap.NonEmpty) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func (b *Bureau) sendReferral(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req msesoap.SendReferralRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	if req.MessageID == nil || req.Referral == nil || req.SenderOrgOID == nil {
		return "", nil, fmt.Errorf("MessageID, SenderOrgOID and Referral are required")
	}
	return string(*req.MessageID), func() (any, *Fault) {
		now := time.Now()
		ref := mse.FromWire(req.Referral)
		hdr, err := header(ref.Content) // the door's fast header read (scan.go)
		if err != nil {
			return nil, &Fault{Code: "VALIDATION_ERROR", Msg: fmt.Sprintf("the referral СЭМД does not parse: %v", err)}
		}
		if kind.DocType(hdr.Code.Code) != kind.TypeMSEReferral {
			return nil, &Fault{Code: "VALIDATION_ERROR", Msg: fmt.Sprintf("the referral СЭМД has document type %q, not 34 (MSE referral)", hdr.Code.Code)}
		}
		refKey := string(*req.SenderOrgOID) + "\x00" + hdr.ID.Root + "\x00" + hdr.ID.Extension
		if c, ok := b.byReferral[refKey]; ok {
			dup := c.receipt
			st := msesoap.AcceptStatusDUPLICATE
			dup.Status = &st
			return repeat{&dup}, nil
		}
		problem := b.checkPackage(&req, hdr)
		b.seq++
		c := &mseCase{id: fmt.Sprintf("MSE-%06d", b.seq), referral: hdr.ID, status: msesoap.CaseStatusREGISTERED, updated: now}
		b.cases[c.id] = c
		b.byReferral[refKey] = c
		c.result = b.makeResult(c, hdr, problem, now.Add(b.ResultDelay))
		st := msesoap.AcceptStatusACCEPTED
		id := msesoap.NonEmpty(c.id)
		c.receipt = msesoap.SendReferralResponse{CaseID: &id, Status: &st, ReceivedAt: soapTime(now)}
		res := c.receipt
		return &res, nil
	}, nil
}

// checkPackage returns "" for a complete, consistent package, or why it is not.
func (b *Bureau) checkPackage(req *msesoap.SendReferralRequest, hdr *semd.Document) string {
	if err := mse.CheckDigest(req.Referral); err != nil {
		return err.Error()
	}
	have := map[semd.II]*msesoap.SignedDocument{}
	for _, l := range req.LinkedDocument {
		if l == nil {
			continue
		}
		d := mse.FromWire(l)
		have[semd.II{Root: d.Root, Extension: d.Extension}] = l
	}
	for _, ld := range hdr.LinkDocs {
		l, ok := have[ld.Ref]
		if !ok {
			return fmt.Sprintf("linked document %s (type %s) is missing from the package", ld.Ref, ld.DocType)
		}
		if err := mse.CheckDigest(l); err != nil {
			return err.Error()
		}
		d := mse.FromWire(l)
		// Its id is all the bureau compares: the door's fast header read, not
		// a full parse (scan.go).
		id, err := documentID(d.Content)
		if err != nil {
			return fmt.Sprintf("linked document %s does not parse: %v", ld.Ref, err)
		}
		if id != ld.Ref {
			return fmt.Sprintf("linked document %s carries id %s", ld.Ref, id)
		}
		if len(d.Signatures) == 0 {
			return fmt.Sprintf("linked document %s has no signatures", ld.Ref)
		}
	}
	return ""
}

func (b *Bureau) makeResult(c *mseCase, hdr *semd.Document, problem string, ready time.Time) *mseResult {
	kind, typ := "187", msesoap.ResultTypeRESULT
	if problem != "" {
		kind, typ = "130", msesoap.ResultTypeRETURN_NOTICE
	}
	var patient *semdgen.Person
	if p := hdr.Patient; p != nil {
		bd, _ := semd.ParseTS(p.BirthDate)
		patient = &semdgen.Person{LocalID: p.LocalID.Extension, SNILS: p.SNILS, Family: p.Family, Given: p.Given,
			Patronymic: p.Patronymic, Gender: p.Gender, BirthDate: bd, ENP: p.ENP}
		if patient.LocalID == "" {
			patient.LocalID = "1"
		}
		if patient.Gender == "" {
			patient.Gender = "1"
		}
	}
	doc := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: b.Org, Patient: patient, Rand: b.rng, Signers: b.ResultSigners,
		ID: fmt.Sprintf("%s-%s", kind, c.id), Fulfills: &[2]string{hdr.ID.Root, hdr.ID.Extension}})
	msgID := msesoap.MessageID(soapx.MessageID("mse-sim-result", c.id))
	cid := msesoap.NonEmpty(c.id)
	root := msesoap.OID(hdr.ID.Root)
	ext := msesoap.NonEmpty(hdr.ID.Extension)
	r := &mseResult{seq: b.seq, readyAt: ready, item: &msesoap.ResultItem{
		MessageID: &msgID, CaseID: &cid, Type: &typ, ReferralCDAIDRoot: &root, ReferralCDAIDExtension: &ext,
		Reason: problem, Document: mse.ToWire(doc.Signed()),
	}}
	b.results = append(b.results, r)
	return r
}

func (b *Bureau) getStatus(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req msesoap.GetReferralStatusRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	return "", func() (any, *Fault) {
		c, ok := b.cases[nonEmpty(req.CaseID)]
		if !ok {
			return nil, &Fault{Code: "UNKNOWN_CASE", Msg: fmt.Sprintf("no case %q", nonEmpty(req.CaseID))}
		}
		b.advance(c, time.Now())
		id := msesoap.NonEmpty(c.id)
		st := c.status
		return &msesoap.GetReferralStatusResponse{CaseID: &id, Status: &st, UpdatedAt: soapTime(c.updated)}, nil
	}, nil
}

// advance moves a case to its decision once its result is ready.
func (b *Bureau) advance(c *mseCase, now time.Time) {
	if c.status == msesoap.CaseStatusREGISTERED && !now.Before(c.result.readyAt) {
		c.status, c.updated = msesoap.CaseStatusDECIDED, c.result.readyAt
		if *c.result.item.Type == msesoap.ResultTypeRETURN_NOTICE {
			c.status = msesoap.CaseStatusRETURNED
		}
	}
}

func (b *Bureau) fetchResults(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req msesoap.FetchResultsRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	limit := 100
	if req.Limit != nil && *req.Limit >= 1 && *req.Limit <= 100 {
		limit = int(*req.Limit)
	}
	after := 0
	if req.After != nil {
		n, err := strconv.Atoi(string(*req.After))
		if err != nil {
			return "", nil, fmt.Errorf("After %q is not a cursor this bureau issued", *req.After)
		}
		after = n
	}
	return "", func() (any, *Fault) {
		now := time.Now()
		res := &msesoap.FetchResultsResponse{}
		last := after
		for _, x := range b.results {
			if x.acked || x.seq <= after || now.Before(x.readyAt) {
				continue
			}
			if len(res.Result) == limit {
				break
			}
			res.Result = append(res.Result, x.item)
			last = x.seq
		}
		if last > 0 {
			c := msesoap.NonEmpty(strconv.Itoa(last))
			res.NextCursor = &c
		}
		return res, nil
	}, nil
}

func (b *Bureau) ackResults(r *soapx.Request) (string, func() (any, *Fault), error) {
	var req msesoap.AckResultsRequest
	if err := r.Decode(&req); err != nil {
		return "", nil, err
	}
	return "", func() (any, *Fault) {
		want := map[string]bool{}
		for _, id := range req.MessageID {
			if id != nil {
				want[string(*id)] = true
			}
		}
		res := &msesoap.AckResultsResponse{}
		for _, x := range b.results {
			if want[string(*x.item.MessageID)] {
				x.acked = true
				id := *x.item.MessageID
				res.Acknowledged = append(res.Acknowledged, &id)
			}
		}
		return res, nil
	}, nil
}

// Pending reports results not yet acknowledged, for tests and the demo.
func (b *Bureau) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, x := range b.results {
		if !x.acked {
			n++
		}
	}
	return n
}

// Cases returns the case ids, sorted.
func (b *Bureau) Cases() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for id := range b.cases {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
