// Package codes is the catalogue of machine-readable error codes the hub
// answers with. Where the federal registry has a message code for the same
// failure (НСИ 1.2.643.5.1.13.13.99.2.305, domain.md §1.6) the hub uses that
// code, so a МИС that already handles registry refusals handles ours; the
// hub's own codes are marked as such.
package codes

// Registry codes (НСИ 305).
const (
	AttributeMismatch      = "ATTRIBUTE_MISMATCH"
	InvalidContent         = "INVALID_CONTENT"
	InvalidDocContentType  = "INVALID_DOC_CONTENT_TYPE"
	NoDocumentKindOnDate   = "NO_DOCUMENT_KIND_ON_DATE"
	NoSignature            = "NO_SIGNATURE"
	NoSNILS                = "NO_SNILS"
	NotUniqueProvidedID    = "NOT_UNIQUE_PROVIDED_ID"
	ObjectNotFound         = "OBJECT_NOT_FOUND"
	OrgNotFoundInFRMO      = "ORG_NOT_FOUND_IN_FRMO" // the organisation is not registered (the hub's register stands for ФРМО)
	OrgSignatureOccurrence = "ORG_SIGNATURE_OCCURRENCE_MISMATCH"
	PatientOccurrence      = "PATIENT_OCCURRENCE_MISMATCH"
	SeriesRequired         = "SERIES_REQUIRED"
	SignatureDecodingError = "SIGNATURE_DECODING_ERROR"
	InconsistentDigests    = "INCONSISTENT_DIGESTS"
	SignatureDuplication   = "SIGNATURE_DUPLICATION"
	CertNotActualNow       = "PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT"
	SignerOrgMismatch      = "SIGNER_ORG_MISMATCH"
	ValidationError        = "VALIDATION_ERROR"
	WrongCreationDate      = "WRONG_CREATION_DATE"
	AccessDenied           = "ACCESS_DENIED"
	RateLimit              = "RATE_LIMIT"
	InternalError          = "INTERNAL_ERROR"
)

// Hub codes: failures the registry has no code for.
const (
	InvalidSNILS     = "INVALID_SNILS"     // СНИЛС format or control number wrong
	InvalidENP       = "INVALID_ENP"       // ЕНП format or control digit wrong
	InvalidOGRN      = "INVALID_OGRN"      // ОГРН/ОГРНИП format or control digit wrong
	InvalidOID       = "INVALID_OID"       // OID syntax or the <MO OID>.100.<MIS>.<inst>.<suffix> rule broken
	Unauthenticated  = "UNAUTHENTICATED"   // no or unknown credentials (HTTP 401)
	Forbidden        = "FORBIDDEN"         // authenticated but the role may not do this (HTTP 403)
	NotFound         = "NOT_FOUND"         // no such resource visible to the caller (HTTP 404)
	BodyTooLarge     = "BODY_TOO_LARGE"    // request body over the configured limit (HTTP 413)
	BadRequest       = "BAD_REQUEST"       // request envelope (JSON, parameters) unreadable (HTTP 400)
	Unavailable      = "UNAVAILABLE"       // dependency (database) not ready (HTTP 503)
	UnsupportedMedia = "UNSUPPORTED_MEDIA" // wrong Content-Type (HTTP 415)

	DBUnavailable        = "DB_UNAVAILABLE"         // the database does not answer (HTTP 503, Retry-After)
	MethodNotAllowed     = "METHOD_NOT_ALLOWED"     // the route exists, not with this method (HTTP 405)
	CallbackURLForbidden = "CALLBACK_URL_FORBIDDEN" // callback URL scheme, length, credentials or address not allowed (HTTP 400)
	TooManyLinks         = "TOO_MANY_LINKS"         // LINKDOCS lists more documents than HUB_MAX_LINKS (HTTP 422)
	XMLLimitExceeded     = "XML_LIMIT_EXCEEDED"     // XML depth, attribute count or size, or element count over the limits (HTTP 413/422)

	FLKFailed        = "FLK_FAILED"        // the official schematron of the document's kind refuses it (HTTP 422; details: every failed rule)
	KindUnconfigured = "KIND_UNCONFIGURED" // the kind's schematron did not compile at start: its documents are refused, not checked by a subset (HTTP 422)

	XSDInvalid = "XSD_INVALID" // the official XSD of the document's kind refuses it (HTTP 422; details: every error with line, column, element, what was expected)

	// issue 15, enrichment (branch epgu)
	PolicyNotFound            = "POLICY_NOT_FOUND"            // the ОМС policy registry knows no policy for the СНИЛС or ЕНП (HTTP 404)
	PolicyRegistryUnavailable = "POLICY_REGISTRY_UNAVAILABLE" // the ОМС policy registry does not answer, or answers with a failure (HTTP 503, Retry-After)
)

// Registry codes for reference-book (ФЛК level 2) refusals (НСИ 305, ids 113–118).
const (
	InvalidDictionaryOID     = "INVALID_DICTIONARY_OID"     // the codeSystemName is not the full name of the book the codeSystem OID designates
	InvalidDictionaryVersion = "INVALID_DICTIONARY_VERSION" // that version of the book is not held
	InvalidElementValueCode  = "INVALID_ELEMENT_VALUE_CODE" // the code is not in the book
	InvalidElementValueName  = "INVALID_ELEMENT_VALUE_NAME" // the displayName is not the book's name for the code

	// DictionaryNotChecked is the hub's code of a warning, not a refusal: a
	// book the document names was not checked (not held, or skipped by its setting).
	DictionaryNotChecked = "DICTIONARY_NOT_CHECKED"
)

// Hub codes of the operators' kind bundles (issue 12 item 4: kinds added at run time).
const (
	KindBundleInvalid  = "KIND_BUNDLE_INVALID"   // the zip is unreadable, breaks the layout, or a file in it does not compile (HTTP 422; details: file, line)
	KindBundleTooLarge = "KIND_BUNDLE_TOO_LARGE" // the zip, an entry, the entry count or the uncompressed total is over the limit (HTTP 413)
	KindSampleFailed   = "KIND_SAMPLE_FAILED"    // a sample document of the bundle fails its schematron or XSD (HTTP 422; details: every failure per sample)
	KindXSDUnavailable = "KIND_XSD_UNAVAILABLE"  // the bundle carries xsd/ but this hub has no XSD validator (HTTP 422)
	KindNotActive      = "KIND_NOT_ACTIVE"       // rollback of a kind with no active bundle (HTTP 409)
)
