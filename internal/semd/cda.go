package semd

import "encoding/xml"

// XML namespaces of the Russian CDA profile.
const (
	NSHL7      = "urn:hl7-org:v3"
	NSIdentity = "urn:hl7-ru:identity"
	NSAddress  = "urn:hl7-ru:address"
	NSFias     = "urn:hl7-ru:fias"
)

// The x* types mirror just the parts of a CDA document the hub reads. Child
// elements are matched in the HL7 namespace; Russian extensions in theirs.

type xII struct {
	Root       string `xml:"root,attr"`
	Extension  string `xml:"extension,attr"`
	NullFlavor string `xml:"nullFlavor,attr"`
}

type xCD struct {
	Code              string `xml:"code,attr"`
	CodeSystem        string `xml:"codeSystem,attr"`
	CodeSystemVersion string `xml:"codeSystemVersion,attr"`
	DisplayName       string `xml:"displayName,attr"`
	NullFlavor        string `xml:"nullFlavor,attr"`
}

type xTS struct {
	Value      string `xml:"value,attr"`
	NullFlavor string `xml:"nullFlavor,attr"`
}

type xName struct {
	Family     string `xml:"urn:hl7-org:v3 family"`
	Given      string `xml:"urn:hl7-org:v3 given"`
	Patronymic string `xml:"urn:hl7-ru:identity Patronymic"`
}

type xValue struct {
	Type  string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Value string `xml:"value,attr"`
	Text  string `xml:",chardata"`
}

type xClinicalDocument struct {
	XMLName             xml.Name        `xml:"urn:hl7-org:v3 ClinicalDocument"`
	RealmCode           xCD             `xml:"urn:hl7-org:v3 realmCode"`
	TypeID              xII             `xml:"urn:hl7-org:v3 typeId"`
	TemplateIDs         []xII           `xml:"urn:hl7-org:v3 templateId"`
	IDs                 []xII           `xml:"urn:hl7-org:v3 id"`
	Code                xCD             `xml:"urn:hl7-org:v3 code"`
	Title               string          `xml:"urn:hl7-org:v3 title"`
	EffectiveTime       xTS             `xml:"urn:hl7-org:v3 effectiveTime"`
	ConfidentialityCode xCD             `xml:"urn:hl7-org:v3 confidentialityCode"`
	LanguageCode        xCD             `xml:"urn:hl7-org:v3 languageCode"`
	SetID               xII             `xml:"urn:hl7-org:v3 setId"`
	VersionNumber       xTS             `xml:"urn:hl7-org:v3 versionNumber"`
	RecordTargets       []xRecordTarget `xml:"urn:hl7-org:v3 recordTarget"`
	Authors             []xAuthor       `xml:"urn:hl7-org:v3 author"`
	Custodian           struct {
		Org struct {
			ID    xII    `xml:"urn:hl7-org:v3 id"`
			Name  string `xml:"urn:hl7-org:v3 name"`
			Props struct {
				Ogrn string `xml:"urn:hl7-ru:identity Ogrn"`
			} `xml:"urn:hl7-ru:identity Props"`
		} `xml:"urn:hl7-org:v3 assignedCustodian>representedCustodianOrganization"`
	} `xml:"urn:hl7-org:v3 custodian"`
	InformationRecipient struct {
		Org struct {
			ID   xII    `xml:"urn:hl7-org:v3 id"`
			Name string `xml:"urn:hl7-org:v3 name"`
		} `xml:"urn:hl7-org:v3 intendedRecipient>receivedOrganization"`
	} `xml:"urn:hl7-org:v3 informationRecipient"`
	InFulfillmentOf []xInFulfillmentOf `xml:"urn:hl7-org:v3 inFulfillmentOf"`
	// Participants: the certificate's recipient (typeCode IRCP) carries a
	// СНИЛС when the patient, a newborn or stillborn, has none (59.sch, 76.sch).
	Participants       []xParticipant `xml:"urn:hl7-org:v3 participant"`
	LegalAuthenticator struct {
		Time           xTS `xml:"urn:hl7-org:v3 time"`
		AssignedEntity struct {
			IDs            []xII `xml:"urn:hl7-org:v3 id"`
			Code           xCD   `xml:"urn:hl7-org:v3 code"`
			AssignedPerson struct {
				Name xName `xml:"urn:hl7-org:v3 name"`
			} `xml:"urn:hl7-org:v3 assignedPerson"`
		} `xml:"urn:hl7-org:v3 assignedEntity"`
	} `xml:"urn:hl7-org:v3 legalAuthenticator"`
	Sections []xSection `xml:"urn:hl7-org:v3 component>structuredBody>component>section"`
}

// The named parts below are the ones FromTree (tree.go) builds one by one.

type xRecordTarget struct {
	PatientRole struct {
		IDs             []xII             `xml:"urn:hl7-org:v3 id"`
		InsurancePolicy *xInsurancePolicy `xml:"urn:hl7-ru:identity InsurancePolicy"`
		Patient         struct {
			Name      xName `xml:"urn:hl7-org:v3 name"`
			Gender    xCD   `xml:"urn:hl7-org:v3 administrativeGenderCode"`
			BirthTime xTS   `xml:"urn:hl7-org:v3 birthTime"`
		} `xml:"urn:hl7-org:v3 patient"`
		ProviderOrganization struct {
			IDs   []xII `xml:"urn:hl7-org:v3 id"`
			Props struct {
				Ogrn   string `xml:"urn:hl7-ru:identity Ogrn"`
				Ogrnip string `xml:"urn:hl7-ru:identity Ogrnip"`
			} `xml:"urn:hl7-ru:identity Props"`
			Name string `xml:"urn:hl7-org:v3 name"`
		} `xml:"urn:hl7-org:v3 providerOrganization"`
	} `xml:"urn:hl7-org:v3 patientRole"`
}

type xInsurancePolicy struct {
	Type   xCD    `xml:"urn:hl7-ru:identity InsurancePolicyType"`
	Series string `xml:"urn:hl7-ru:identity Series"`
	Number string `xml:"urn:hl7-ru:identity Number"`
}

type xAuthor struct {
	Time           xTS `xml:"urn:hl7-org:v3 time"`
	AssignedAuthor struct {
		IDs            []xII `xml:"urn:hl7-org:v3 id"`
		Code           xCD   `xml:"urn:hl7-org:v3 code"`
		AssignedPerson struct {
			Name xName `xml:"urn:hl7-org:v3 name"`
		} `xml:"urn:hl7-org:v3 assignedPerson"`
	} `xml:"urn:hl7-org:v3 assignedAuthor"`
}

type xInFulfillmentOf struct {
	Order struct {
		ID xII `xml:"urn:hl7-org:v3 id"`
	} `xml:"urn:hl7-org:v3 order"`
}

type xParticipant struct {
	TypeCode string `xml:"typeCode,attr"`
	IDs      []xII  `xml:"urn:hl7-org:v3 associatedEntity>id"`
}

type xSection struct {
	Code    xCD      `xml:"urn:hl7-org:v3 code"`
	Entries []xEntry `xml:"urn:hl7-org:v3 entry"`
}

type xEntry struct {
	Observation *xObservation `xml:"urn:hl7-org:v3 observation"`
	Act         *xAct         `xml:"urn:hl7-org:v3 act"`
}

type xAct struct {
	Code          xCD             `xml:"urn:hl7-org:v3 code"`
	EffectiveTime xTS             `xml:"urn:hl7-org:v3 effectiveTime"`
	Relationships []xRelationship `xml:"urn:hl7-org:v3 entryRelationship"`
	Reference     struct {
		TypeCode         string `xml:"typeCode,attr"`
		ExternalDocument struct {
			ID xII `xml:"urn:hl7-org:v3 id"`
		} `xml:"urn:hl7-org:v3 externalDocument"`
	} `xml:"urn:hl7-org:v3 reference"`
}

type xRelationship struct {
	Observation *xObservation `xml:"urn:hl7-org:v3 observation"`
}

type xObservation struct {
	Code  xCD    `xml:"urn:hl7-org:v3 code"`
	Value xValue `xml:"urn:hl7-org:v3 value"`
}
