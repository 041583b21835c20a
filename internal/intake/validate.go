package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
)

// Checked is what the door's document checks saw of a document.
type Checked struct {
	Header *semd.Document
	Kind   *nsi.Kind // nil when the declared kind is not in НСИ 1520
	// Rules counts the official asserts and reports run (ФЛК level 1); 0
	// when the kind has no schematron or the ФЛК is off.
	Rules int
	// Level2 tells whether ФЛК level 2 ran (Service.Level2 set).
	Level2 bool
	// Warnings are the reference books the document names that level 2 did
	// not check (not held, or skipped by their setting): never passed silently.
	Warnings []refbook.Warning
	// XSD tells whether the kind's official XSD was checked.
	XSD bool
}

// Check runs the door's checks of the document itself, in the door's
// order, and stops at the first refusal (a *codes.Error, exactly what
// Submit answers): the XML limits and the header (semd.Check against the
// claims), ФЛК level 1 (the kind's official schematron), ФЛК level 2 (the
// reference books, СНИЛС checksums and, with Level2.Orgs set, registered
// organisations). Signatures are not part of it. It needs no store unless
// Level2.Orgs does, so `hub validate` runs the door's checks offline.
func (s *Service) Check(ctx context.Context, content []byte, cl semd.Claims) (*Checked, error) {
	c, refusals, err := s.check(ctx, content, cl, false)
	if err != nil {
		return c, err
	}
	if len(refusals) > 0 {
		return c, refusals[0]
	}
	return c, nil
}

// CheckAll is Check that goes on after a refused stage, for a person fixing
// a document (`hub validate`): every refusal, one per stage, in the door's
// order; the first is the door's answer. A document that cannot be parsed,
// or whose kind is not in НСИ 1520, has just that one. err is a failure of
// the check itself (the organisations' query).
func (s *Service) CheckAll(ctx context.Context, content []byte, cl semd.Claims) (*Checked, []*codes.Error, error) {
	return s.check(ctx, content, cl, true)
}

func (s *Service) check(ctx context.Context, content []byte, cl semd.Claims, all bool) (*Checked, []*codes.Error, error) {
	var refusals []*codes.Error
	// refused records a stage's refusal and tells whether to stop here.
	refused := func(err error) (bool, error) {
		var ce *codes.Error
		if !errors.As(err, &ce) {
			return true, err
		}
		refusals = append(refusals, ce)
		return !all, nil
	}
	header, dom, err := s.parse(content)
	// The DOM is the pooled parser's (schematron.ParsePooled): back to the
	// pool when the checks are done, on every return and on a panic. Nothing
	// that outlives the door points into it (the header has its own strings).
	defer dom.Release()
	if err != nil {
		var pe *semd.ParseError
		if errors.As(err, &pe) {
			return nil, []*codes.Error{ParseRefusal(pe)}, nil
		}
		return nil, nil, err
	}
	c := &Checked{Header: header}
	if cl.Now.IsZero() {
		cl.Now = time.Now()
		if s.Now != nil {
			cl.Now = s.Now()
		}
	}
	c.Kind, err = semd.Check(header, cl)
	if err != nil {
		var ce *semd.CheckError
		if !errors.As(err, &ce) {
			return c, nil, err
		}
		e := codes.Unprocessable(ce.Code(), "%s", ce.Problems[0].Message)
		e.Details = ce.Problems
		refusals = append(refusals, e)
		if !all || c.Kind == nil {
			return c, refusals, nil
		}
	}
	// The kind's official XSD comes before the schematron, whose rules
	// presume a document of the schema's shape (422 XSD_INVALID).
	rules := s.rulesOf(c.Kind.Kind)
	if x := rules.XSD; x != nil {
		c.XSD = true
		if err := xsdCheck(x, content, dom); err != nil {
			if stop, err := refused(err); stop {
				return c, refusals, err
			}
		}
	}
	// The ФЛК runs after the header checks (it needs the kind) and before the
	// signatures: it is cheaper than CMS and certificate-chain work, and a
	// document the registry would refuse is refused whoever signed it.
	if sch := rules.Schematron; sch != nil && sch.Err != nil { // did not compile at load
		return c, append(refusals, codes.Unprocessable(codes.KindUnconfigured, "kind %s is not configured: its schematron does not compile (%v)", c.Kind.Kind, sch.Err)), nil
	} else if sch != nil {
		c.Rules = sch.Asserts + sch.Reports
	}
	if err := s.flkParsed(content, dom, c.Kind.Kind, rules.Schematron); err != nil {
		if stop, err := refused(err); stop {
			return c, refusals, err
		}
	}
	if s.Level2 != nil {
		c.Level2 = true
		warnings, err := s.checkLevel2(ctx, content, dom, rules.Books)
		c.Warnings = warnings
		if err != nil {
			if stop, err := refused(err); stop {
				return c, refusals, err
			}
		}
	}
	return c, refusals, nil
}

// parse is the door's one parse of a document (issue 16,
// schematron.ReadHeader): the pooled fast DOM the header is read from and
// the ФЛК runs on, or, when the fast parser does not decide the document,
// semd's reader (its refusal with the usual message) and a nil dom — the
// ФЛК then parses again, as before. The caller releases dom when the checks
// are done, and content must not change until then.
func (s *Service) parse(content []byte) (*semd.Document, *schematron.Document, error) {
	return schematron.ReadHeader(content, s.Limits)
}

// xsdCheck validates content against x: a refusal (422 XSD_INVALID with
// every error: line, column, element, path, what was expected) when the
// schema refuses it, an error when the validator itself failed. dom is the
// door's parse of content (nil when semd's reader parsed it): a
// kinds.TreeValidator checks it instead of reading the bytes again, with
// the same verdict.
func xsdCheck(x kinds.Validator, content []byte, dom *schematron.Document) error {
	var err error
	if tv, ok := x.(kinds.TreeValidator); ok && dom != nil {
		err = tv.ValidateTree(content, dom)
	} else {
		err = x.Validate(content)
	}
	var e *cdaxsd.Error
	if errors.As(err, &e) {
		return e.Refusal()
	}
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	return nil
}
