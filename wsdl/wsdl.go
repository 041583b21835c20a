// Package wsdl holds the hub's SOAP contracts (one directory per service:
// <svc>.wsdl + <svc>.xsd) that adapters/<svc> is generated from. See README.md.
package wsdl

// Services lists the contracts, each generated into adapters/<name>/<name>soap.
var Services = []string{"mse", "zags", "epgu", "provider", "policy"}
