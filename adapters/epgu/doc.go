// Package epgu will hold the ЕПГУ adapter (notifications to citizens),
// generated from wsdl/epgu with a hand-written client on top; see issue #3.
package epgu
