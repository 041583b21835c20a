// Package wsdl holds the hub's SOAP contracts (one directory per service:
// <svc>.wsdl + <svc>.xsd) that adapters/<svc> is generated from. See README.md.
package wsdl

import "embed"

// Services lists the contracts, each generated into adapters/<name>/<name>soap.
var Services = []string{"mse", "zags", "epgu", "provider", "policy"}

// FS holds the contracts as <svc>/<svc>.wsdl and <svc>/<svc>.xsd: the
// simulators validate requests against the XSDs and serve both files.
//
//go:embed */*.wsdl */*.xsd
var FS embed.FS
