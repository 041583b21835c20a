package epgu

// The SOAP types and port of epgusoap are generated from the contract in
// wsdl/epgu by gowsdl v0.5.0 (pinned as a tool in go.mod); the generated file is
// committed and never edited by hand (wsdl.TestGeneratedCodeIsCurrent checks
// that regenerating reproduces it byte for byte). Hand-written additions to
// the package live in files not named *.gen.go.
//
//go:generate go tool gowsdl -d . -p epgusoap -o epgu.gen.go ../../wsdl/epgu/epgu.wsdl
