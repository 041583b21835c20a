// Package zags will hold the ЕГР ЗАГС adapter (medical birth, death and
// perinatal-death certificates), generated from wsdl/zags with a
// hand-written client on top; see issue #3.
package zags
