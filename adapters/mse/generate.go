package mse

// The SOAP types and port of msesoap are generated from the contract in
// wsdl/mse by gowsdl v0.5.0 (pinned as a tool in go.mod); the generated file is
// committed and never edited by hand (wsdl.TestGeneratedCodeIsCurrent checks
// that regenerating reproduces it byte for byte). Hand-written additions to
// the package live in files not named *.gen.go.
//
//go:generate go tool gowsdl -d . -p msesoap -o mse.gen.go ../../wsdl/mse/mse.wsdl
