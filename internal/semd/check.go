package semd

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	hubkind "github.com/emdhub/hub/internal/kind"
	"github.com/emdhub/hub/internal/nsi"
)

// Problem is one failed check: a registry-style code, where in the document
// it failed, and a message a МИС developer can act on.
type Problem struct {
	Code    string `json:"code"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// CheckError carries every problem found; Code is the first one's.
type CheckError struct{ Problems []Problem }

func (e *CheckError) Error() string {
	if len(e.Problems) == 0 {
		return "semd: check failed"
	}
	p := e.Problems[0]
	msg := fmt.Sprintf("semd: %s at %s: %s", p.Code, p.Path, p.Message)
	if n := len(e.Problems); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	return msg
}

// Code returns the code of the first problem.
func (e *CheckError) Code() string {
	if len(e.Problems) == 0 {
		return codes.ValidationError
	}
	return e.Problems[0].Code
}

// Claims is what the submitter declares alongside the document.
type Claims struct {
	Kind         string    // НСИ 1520 code the МИС says the document is
	LocalID      string    // the МИС's id of this document instance; must equal ClinicalDocument/id/@extension
	SubmitterOrg string    // OID of the submitting system's organisation
	Now          time.Time // the check time (creation date may not be later)
}

// clockSkew tolerates МИС clocks running a little ahead of the hub.
const clockSkew = 5 * time.Minute

type checker struct{ problems []Problem }

func (c *checker) add(code, path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Check runs the door checks for a parsed document against the claims and
// returns the kind's НСИ row. A non-nil error is a *CheckError listing every
// problem found, in document order, most fundamental first.
func Check(doc *Document, cl Claims) (*nsi.Kind, error) {
	c := &checker{}
	kind, ok := nsi.LookupKind(cl.Kind)
	if !ok {
		c.add(codes.ObjectNotFound, "kind", "kind %q is not in НСИ 1.2.643.5.1.13.13.11.1520", cl.Kind)
		return nil, &CheckError{c.problems}
	}
	c.header(doc, kind, cl)
	c.identifiers(doc, kind, cl)
	c.people(doc, kind)
	c.kindRules(doc, kind)
	if len(c.problems) > 0 {
		return kind, &CheckError{c.problems}
	}
	return kind, nil
}

func (c *checker) header(doc *Document, kind *nsi.Kind, cl Claims) {
	const p = "ClinicalDocument"
	if doc.RealmCode != "RU" {
		c.add(codes.ValidationError, p+"/realmCode", "realmCode/@code must be 'RU' (У1-9), got %q", doc.RealmCode)
	}
	if doc.TypeID.Root != TypeIDRoot || doc.TypeID.Extension != TypeIDExt {
		c.add(codes.ValidationError, p+"/typeId", "typeId must be root=%s extension=%s (У1-10)", TypeIDRoot, TypeIDExt)
	}
	if !slices.Contains(kind.DocumentTypeCodes(), doc.Code.Code) {
		c.add(codes.AttributeMismatch, p+"/code", "declared kind %s (%s) needs document type %s (НСИ 1522), the document says %q",
			kind.Kind, kind.Name, strings.Join(kind.DocumentTypeCodes(), " or "), doc.Code.Code)
	} else if !slices.Contains(DocTypeSystems, doc.Code.System) {
		c.add(codes.ValidationError, p+"/code/@codeSystem", "codeSystem %q is not one of %s (У1-13)", doc.Code.System, strings.Join(DocTypeSystems, ", "))
	} else if doc.Code.Version == "" || doc.Code.DisplayName == "" {
		c.add(codes.ValidationError, p+"/code", "code needs non-empty codeSystemVersion and displayName (У1-13)")
	}
	if len(doc.TemplateIDs) != 1 {
		c.add(codes.ValidationError, p+"/templateId", "exactly one templateId is required (У1-11), found %d", len(doc.TemplateIDs))
	} else if !slices.Contains(kind.TemplateRoots(), doc.TemplateIDs[0]) {
		c.add(codes.AttributeMismatch, p+"/templateId/@root", "templateId %q does not belong to kind %s; expected %s",
			doc.TemplateIDs[0], kind.Kind, strings.Join(kind.TemplateRoots(), " or "))
	}
	if doc.Title == "" {
		c.add(codes.ValidationError, p+"/title", "title must not be empty (У1-14)")
	}
	if doc.effectiveErr != nil {
		c.add(codes.ValidationError, p+"/effectiveTime/@value", "%q: day precision, or minutes/seconds with a +HHMM zone (У1-15)", doc.EffectiveTimeRaw)
	} else {
		if !kind.ValidOn(doc.EffectiveTime) {
			c.add(codes.NoDocumentKindOnDate, p+"/effectiveTime", "kind %s is valid from %s%s; the document is dated %s",
				kind.Kind, kind.Start, endText(kind), doc.EffectiveTime.Format("02.01.2006"))
		}
		if !cl.Now.IsZero() && doc.EffectiveTime.After(cl.Now.Add(clockSkew)) {
			c.add(codes.WrongCreationDate, p+"/effectiveTime", "document creation time %s is later than the time it was received (%s)",
				doc.EffectiveTime.Format(time.RFC3339), cl.Now.Format(time.RFC3339))
		}
	}
	if doc.VersionNumberRaw == "" {
		c.add(codes.ValidationError, p+"/versionNumber/@value", "versionNumber is required (У1-19)")
	} else if n, err := strconv.Atoi(doc.VersionNumberRaw); err != nil || n < 1 {
		c.add(codes.ValidationError, p+"/versionNumber/@value", "versionNumber must be a positive integer, got %q", doc.VersionNumberRaw)
	}
}

func endText(k *nsi.Kind) string {
	if k.End == "" {
		return ""
	}
	return " to " + k.End
}

// docRoot checks a root built by the <MO OID>.100.<MIS>.<inst>.<suffix> rule.
func (c *checker) docRoot(path, root, suffix, what string) (ids.DocOID, bool) {
	if !ids.ValidOID(root) {
		c.add(codes.InvalidOID, path, "%s root %q is not a valid OID (^[0-2](\\.([1-9][0-9]*|0))+$)", what, root)
		return ids.DocOID{}, false
	}
	d, ok := ids.ParseDocOID(root)
	if !ok || d.Suffix != suffix {
		c.add(codes.InvalidOID, path, "%s root %q must be built as <MO OID>.100.<MIS>.<instance>.%s", what, root, suffix)
		return ids.DocOID{}, false
	}
	return d, true
}

func (c *checker) identifiers(doc *Document, kind *nsi.Kind, cl Claims) {
	const p = "ClinicalDocument"
	// Custodian: the organisation that holds the document must be the submitter.
	if !ids.ValidOID(doc.Custodian.OID) {
		c.add(codes.InvalidOID, p+"/custodian//representedCustodianOrganization/id/@root", "custodian organisation OID %q is not a valid OID", doc.Custodian.OID)
	} else if cl.SubmitterOrg != "" && doc.Custodian.OID != cl.SubmitterOrg {
		c.add(codes.SignerOrgMismatch, p+"/custodian", "custodian organisation %s is not the submitting system's organisation %s", doc.Custodian.OID, cl.SubmitterOrg)
	}
	if doc.Custodian.OGRN != "" {
		c.ogrn(p+"/custodian//identity:Props/identity:Ogrn", doc.Custodian.OGRN)
	}
	if doc.IDCount != 1 {
		c.add(codes.ValidationError, p+"/id", "exactly one id is required (У1-12), found %d", doc.IDCount)
	}
	idRoot, idOK := c.docRoot(p+"/id/@root", doc.ID.Root, "51", "document id")
	if idOK && ids.ValidOID(doc.Custodian.OID) && idRoot.MOOID != doc.Custodian.OID {
		c.add(codes.InvalidOID, p+"/id/@root", "document id root must start with the custodian organisation OID %s, got %s", doc.Custodian.OID, idRoot.MOOID)
	}
	if doc.ID.Extension == "" {
		c.add(codes.ValidationError, p+"/id/@extension", "document id extension must not be empty (У1-12)")
	} else if cl.LocalID != "" && cl.LocalID != doc.ID.Extension {
		c.add(codes.AttributeMismatch, p+"/id/@extension", "declared local_id %q differs from the document id extension %q", cl.LocalID, doc.ID.Extension)
	}
	if _, ok := c.docRoot(p+"/setId/@root", doc.SetID.Root, "50", "setId"); ok && doc.SetID.Root == doc.ID.Root {
		c.add(codes.InvalidOID, p+"/setId/@root", "setId root must differ from the id root (У1-18)")
	}
	if doc.SetID.Extension == "" {
		c.add(codes.ValidationError, p+"/setId/@extension", "setId extension must not be empty (У1-18)")
	}
	if r := doc.Recipient; r != nil && !ids.ValidOID(r.OID) {
		c.add(codes.InvalidOID, p+"/informationRecipient//receivedOrganization/id/@root", "recipient OID %q is not a valid OID", r.OID)
	}
}

func (c *checker) ogrn(path, v string) {
	var err error
	switch len(v) {
	case 15:
		err = ids.ValidateOGRNIP(v)
	default:
		err = ids.ValidateOGRN(v)
	}
	if err != nil {
		c.add(codes.InvalidOGRN, path, "%s", idMessage(err))
	}
}

func idMessage(err error) string {
	var e *ids.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s %q: %s", strings.ToUpper(e.Kind), e.Value, e.Detail)
	}
	return err.Error()
}

func (c *checker) snils(path, v string) {
	if _, err := ids.ValidateSNILS(v); err != nil {
		c.add(codes.InvalidSNILS, path, "%s", idMessage(err))
	}
}

func (c *checker) person(path string, pr *Person) {
	if pr.LocalID.Root != "" {
		c.docRoot(path+"/id[1]/@root", pr.LocalID.Root, "70", "employee id")
	} else {
		c.add(codes.ValidationError, path+"/id[1]", "employee local id (<MO OID>.100.<MIS>.<inst>.70) is required")
	}
	if pr.SNILS == "" {
		c.add(codes.ValidationError, path+"/id[2]", "employee СНИЛС (root %s) is required", SNILSRoot)
	} else {
		c.snils(path+"/id[2]/@extension", pr.SNILS)
	}
}

func (c *checker) people(doc *Document, kind *nsi.Kind) {
	const p = "ClinicalDocument"
	if pt := doc.Patient; pt == nil {
		if kind.PatientInfo != nsi.PatientInfoOptional {
			c.add(codes.PatientOccurrence, p+"/recordTarget", "kind %s requires patient information (%s)", kind.Kind, kind.PatientInfo)
		}
	} else {
		pp := p + "/recordTarget/patientRole"
		if pt.LocalID.Root != "" {
			c.docRoot(pp+"/id[1]/@root", pt.LocalID.Root, "10", "patient id")
		} else if kind.PatientInfo != nsi.PatientInfoOptional {
			c.add(codes.ValidationError, pp+"/id[1]", "patient local id (<MO OID>.100.<MIS>.<inst>.10) is required")
		}
		if pt.SNILS == "" {
			if kind.SNILSRequired() {
				c.add(codes.NoSNILS, pp+"/id[2]", "kind %s requires the patient's СНИЛС (%s)", kind.Kind, kind.PatientInfo)
			}
		} else {
			c.snils(pp+"/id[2]/@extension", pt.SNILS)
		}
		if pt.ENP != "" {
			if _, err := ids.ValidateENP(pt.ENP); err != nil {
				c.add(codes.InvalidENP, pp+"/identity:InsurancePolicy/identity:Number", "%s", idMessage(err))
			}
		}
		if pt.ProviderOGRN != "" {
			c.ogrn(pp+"/providerOrganization/identity:Props/identity:Ogrn", pt.ProviderOGRN)
		}
		if pt.BirthDate != "" {
			if _, err := ParseTS(pt.BirthDate); err != nil || len(pt.BirthDate) != 8 {
				c.add(codes.ValidationError, pp+"/patient/birthTime/@value", "birth date %q must be YYYYMMDD", pt.BirthDate)
			}
		}
	}
	if doc.Author == nil {
		c.add(codes.ValidationError, p+"/author", "author is required (У1-21)")
	} else {
		c.person(p+"/author/assignedAuthor", doc.Author)
	}
	if doc.LegalAuthenticator == nil {
		c.add(codes.ValidationError, p+"/legalAuthenticator", "legalAuthenticator is required (У1-25)")
	} else {
		c.person(p+"/legalAuthenticator/assignedEntity", doc.LegalAuthenticator)
	}
}

func (c *checker) kindRules(doc *Document, kind *nsi.Kind) {
	const body = "ClinicalDocument/component/structuredBody"
	if kind.SeriesRequired {
		if doc.Series == "" {
			c.add(codes.SeriesRequired, body+"/section[DOCINFO]", "kind %s requires the certificate series (DOCINFO 5013/4120)", kind.Kind)
		}
		if doc.Number == "" {
			c.add(codes.SeriesRequired, body+"/section[DOCINFO]", "kind %s requires the certificate number (DOCINFO 5014/4121)", kind.Kind)
		}
	}
	if hubkind.DocType(kind.Type) == hubkind.TypeMSEReferral { // MSE referral: the LINKDOCS manifest and the Минздрав recipient (Main05-1)
		n := 0
		for _, s := range doc.Sections {
			if s == "LINKDOCS" {
				n++
			}
		}
		if n > 1 {
			c.add(codes.ValidationError, body+"/section[LINKDOCS]", "at most one LINKDOCS section is allowed (У2-13), found %d", n)
		}
		if n == 1 && len(doc.LinkDocs) == 0 {
			c.add(codes.ValidationError, body+"/section[LINKDOCS]", "LINKDOCS must have at least one entry/act (У3-41)")
		}
		if doc.Recipient == nil || doc.Recipient.OID != MinzdravRoot {
			c.add(codes.ValidationError, "ClinicalDocument/informationRecipient", "an MSE referral's recipient must be %s (Main05-1)", MinzdravRoot)
		}
		// Duplicate links were merged by Parse, and their number capped.
		for i, l := range doc.LinkDocs {
			lp := fmt.Sprintf("%s/section[LINKDOCS]/entry[%d]/act", body, i+1)
			if l.DocType == "" {
				c.add(codes.ValidationError, lp+"/code/@code", "linked document type (НСИ 1522) must not be empty")
			}
			c.docRoot(lp+"/reference/externalDocument/id/@root", l.Ref.Root, "51", "linked document id")
			if l.Ref.Extension == "" {
				c.add(codes.ValidationError, lp+"/reference/externalDocument/id/@extension", "linked document id extension must not be empty")
			}
			if l.Ref == doc.ID {
				c.add(codes.ValidationError, lp+"/reference/externalDocument/id", "a referral cannot link itself")
			}
		}
	}
}
