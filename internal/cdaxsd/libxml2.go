//go:build cgo

package cdaxsd

/*
#cgo CFLAGS: -I/usr/include/libxml2
#cgo LDFLAGS: -lxml2
#if !__has_include(<libxml/xmlschemas.h>)
#error "the hub validates documents with libxml2: install its headers (Debian: apt-get install libxml2-dev; see the README's setup)"
#endif
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>

// hub_err is one error as libxml2 reported it.
typedef struct {
	int line;
	long end;     // byte offset just past the element's start tag, 0 unknown
	char *elem;   // prefix:name of the element
	char *path;   // /a/b[2]/c
	char *msg;
} hub_err;

typedef struct {
	hub_err errs[100];
	int n;
	int total;
} hub_errs;

// The only files libxml2 may read: those under hub_root while a schema set
// is compiled (compile holds a Go mutex around it); NULL: nothing at all.
static char *hub_root = NULL;

static xmlParserInputPtr hub_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
	if (url != NULL && hub_root != NULL) {
		const char *p = url;
		if (strncmp(p, "file://", 7) == 0) p += 7;
		size_t n = strlen(hub_root);
		if (strncmp(p, hub_root, n) == 0 && p[n] == '/' && strstr(p, "/../") == NULL && strstr(p, "://") == NULL)
			return xmlNewInputFromFile(ctxt, p);
	}
	return NULL; // libxml2 reports the file it could not load

}

static void hub_init(void) {
	xmlInitParser();
	xmlSetExternalEntityLoader(hub_loader);
}

static void hub_set_root(char *root) { hub_root = root; }

static char *hub_path(xmlNodePtr n) {
	char buf[1024];
	char *parts[64];
	int depth = 0;
	for (xmlNodePtr c = n; c != NULL && c->type == XML_ELEMENT_NODE && depth < 64; c = c->parent) {
		int idx = 0, same = 0;
		for (xmlNodePtr s = c->parent ? c->parent->children : NULL; s != NULL; s = s->next) {
			if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, c->name) || s->ns != c->ns) continue;
			same++;
			if (s == c) idx = same;
		}
		char part[256];
		const char *pre = (c->ns && c->ns->prefix) ? (const char *)c->ns->prefix : NULL;
		if (same > 1)
			snprintf(part, sizeof part, "/%s%s%s[%d]", pre ? pre : "", pre ? ":" : "", (const char *)c->name, idx);
		else
			snprintf(part, sizeof part, "/%s%s%s", pre ? pre : "", pre ? ":" : "", (const char *)c->name);
		parts[depth++] = strdup(part);
	}
	buf[0] = 0;
	size_t used = 0;
	for (int i = depth - 1; i >= 0; i--) {
		size_t l = strlen(parts[i]);
		if (used + l < sizeof buf) {
			memcpy(buf + used, parts[i], l + 1);
			used += l;
		}
		free(parts[i]);
	}
	return strdup(buf);
}

static void hub_collect(void *data, xmlErrorPtr e) {
	hub_errs *c = data;
	if (c == NULL || e == NULL || e->level < XML_ERR_ERROR) return;
	c->total++;
	if (c->n >= (int)(sizeof c->errs / sizeof c->errs[0])) return;
	hub_err *h = &c->errs[c->n++];
	memset(h, 0, sizeof *h);
	h->line = e->line;
	h->msg = strdup(e->message ? e->message : "");
	xmlNodePtr n = e->node;
	if (n != NULL && n->type == XML_ATTRIBUTE_NODE) n = n->parent;
	if (n != NULL && n->type == XML_ELEMENT_NODE) {
		const char *pre = (n->ns && n->ns->prefix) ? (const char *)n->ns->prefix : NULL;
		size_t l = strlen((const char *)n->name) + (pre ? strlen(pre) + 1 : 0) + 1;
		h->elem = malloc(l);
		snprintf(h->elem, l, "%s%s%s", pre ? pre : "", pre ? ":" : "", (const char *)n->name);
		h->end = (long)(intptr_t)n->_private;
		h->path = hub_path(n);
	}
}

// hub_start is the SAX2 start-element handler that also records on the new
// element where its start tag ends (for the error's column).
static void hub_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
		int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted, const xmlChar **attributes) {
	xmlParserCtxtPtr ctxt = ctx;
	xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes, nb_defaulted, attributes);
	if (ctxt->node != NULL && ctxt->node->_private == NULL)
		ctxt->node->_private = (void *)(intptr_t)xmlByteConsumed(ctxt);
}

static void hub_free_errs(hub_errs *c) {
	for (int i = 0; i < c->n; i++) {
		free(c->errs[i].elem);
		free(c->errs[i].path);
		free(c->errs[i].msg);
	}
	c->n = 0;
}

// hub_compile compiles the schema file at path; errors go to c.
static xmlSchemaPtr hub_compile(const char *path, hub_errs *c) {
	xmlSetStructuredErrorFunc(c, hub_collect);
	xmlSchemaParserCtxtPtr p = xmlSchemaNewParserCtxt(path);
	xmlSchemaPtr s = NULL;
	if (p != NULL) {
		xmlSchemaSetParserStructuredErrors(p, hub_collect, c);
		s = xmlSchemaParse(p);
		xmlSchemaFreeParserCtxt(p);
	}
	xmlSetStructuredErrorFunc(NULL, NULL);
	return s;
}

static void hub_ignore(void *data, xmlErrorPtr e) {}

// hub_valid streams buf through the validator without building a tree:
// 1 valid, 0 not (or not parsed), -1 the validator failed. Errors are
// dropped: an invalid document is validated again by hub_validate for
// xmllint's error positions.
static int hub_valid(xmlSchemaPtr s, const char *buf, int len) {
	int ret = -1;
	xmlSetStructuredErrorFunc(NULL, hub_ignore);
	xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(s);
	xmlParserInputBufferPtr in = xmlParserInputBufferCreateMem(buf, len, XML_CHAR_ENCODING_NONE);
	if (v != NULL && in != NULL) {
		xmlSchemaSetValidStructuredErrors(v, hub_ignore, NULL);
		int r = xmlSchemaValidateStream(v, in, XML_CHAR_ENCODING_NONE, NULL, NULL); // frees in
		in = NULL;
		ret = r == 0 ? 1 : (r > 0 ? 0 : -1);
	}
	if (in != NULL) xmlFreeParserInputBuffer(in);
	if (v != NULL) xmlSchemaFreeValidCtxt(v);
	xmlSetStructuredErrorFunc(NULL, NULL);
	return ret;
}

// hub_validate parses buf and validates it against s: 0 valid, 1 invalid
// (or not parsed: errors in c), -1 the validator failed.
static int hub_validate(xmlSchemaPtr s, const char *buf, int len, hub_errs *c) {
	int ret = -1;
	xmlSetStructuredErrorFunc(c, hub_collect); // parse errors (thread-local)
	xmlParserCtxtPtr p = xmlNewParserCtxt();
	xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(s);
	if (p == NULL || v == NULL) goto done;
	p->sax->startElementNs = hub_start;
	xmlDocPtr doc = xmlCtxtReadMemory(p, buf, len, "document.xml", NULL,
		XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
	if (doc == NULL || !p->wellFormed) {
		if (doc != NULL) xmlFreeDoc(doc);
		if (c->total == 0) c->total = 1;
		ret = 1;
		goto done;
	}
	xmlSchemaSetValidStructuredErrors(v, hub_collect, c);
	int r = xmlSchemaValidateDoc(v, doc);
	xmlFreeDoc(doc);
	ret = r == 0 ? 0 : (r > 0 ? 1 : -1);
	if (ret == 1 && c->total == 0) c->total = 1;
done:
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (v != NULL) xmlSchemaFreeValidCtxt(v);
	if (p != NULL) xmlFreeParserCtxt(p);
	return ret;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/emdhub/hub/internal/codes"
)

var (
	initOnce  sync.Once
	compileMu sync.Mutex // hub_root is process-wide
)

// Available tells whether this build can validate (it can: built with cgo
// and libxml2).
func Available() error { return nil }

type schema struct{ p C.xmlSchemaPtr }

func compile(fsys fs.FS, entry string) (*schema, error) {
	initOnce.Do(func() { C.hub_init() })
	if !fs.ValidPath(entry) {
		return nil, fmt.Errorf("entry %q is not a path inside the set", entry)
	}
	dir, err := os.MkdirTemp("", "hub-xsd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, err
	}
	if err := copyFS(dir, fsys); err != nil {
		return nil, err
	}
	root := C.CString(dir)
	defer C.free(unsafe.Pointer(root))
	file := C.CString(filepath.Join(dir, filepath.FromSlash(entry)))
	defer C.free(unsafe.Pointer(file))
	var errs C.hub_errs
	defer C.hub_free_errs(&errs)

	compileMu.Lock()
	C.hub_set_root(root)
	p := C.hub_compile(file, &errs) // one C call: the thread-local error handler stays ours
	C.hub_set_root(nil)
	compileMu.Unlock()

	if p == nil || errs.total > 0 {
		if p != nil {
			C.xmlSchemaFree(p)
		}
		var msgs []string
		for i := 0; i < int(errs.n) && i < 5; i++ {
			m := strings.TrimSpace(C.GoString(errs.errs[i].msg))
			m = strings.ReplaceAll(m, dir+"/", "")
			msgs = append(msgs, fmt.Sprintf("line %d: %s", int(errs.errs[i].line), m))
		}
		if len(msgs) == 0 {
			msgs = append(msgs, "libxml2 could not compile the schema")
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	s := &schema{p: p}
	// A schema lives as long as its kind is configured; when a bundle is
	// replaced at run time the old one is freed with its last user.
	runtime.SetFinalizer(s, func(s *schema) { C.xmlSchemaFree(s.p) })
	return s, nil
}

// copyFS writes every regular file of fsys under dir, refusing names that
// would leave it.
func copyFS(dir string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		to := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
}

func (s *schema) validate(doc []byte) error {
	if len(doc) == 0 {
		return &Error{Problems: []Problem{{Code: codes.XSDInvalid, Line: 1, Message: "the document is empty"}}, Total: 1}
	}
	if len(doc) > 1<<30 {
		return fmt.Errorf("cdaxsd: document of %d bytes is too large to validate", len(doc))
	}
	// The common case, a valid document, streams through the validator
	// without a tree (~25% faster); only a refused one is parsed into a
	// tree and validated again, for xmllint's error lines and the columns.
	if fast {
		if C.hub_valid(s.p, (*C.char)(unsafe.Pointer(&doc[0])), C.int(len(doc))) == 1 {
			return nil
		}
	}
	return s.explain(doc)
}

// explain validates doc into a tree and reports every error.
func (s *schema) explain(doc []byte) error {
	errs := new(C.hub_errs)
	defer C.hub_free_errs(errs)
	r := C.hub_validate(s.p, (*C.char)(unsafe.Pointer(&doc[0])), C.int(len(doc)), errs)
	runtime.KeepAlive(s)
	if r == 0 {
		return nil
	}
	e := &Error{Total: int(errs.total)}
	for i := 0; i < int(errs.n); i++ {
		h := &errs.errs[i]
		msg := strings.TrimSpace(C.GoString(h.msg))
		p := Problem{Code: codes.XSDInvalid, Line: int(h.line), Message: msg, Expected: expected(msg)}
		if h.elem != nil {
			p.Element = C.GoString(h.elem)
			p.Path = C.GoString(h.path)
			p.Column = column(doc, int(h.end), p.Line)
		}
		e.Problems = append(e.Problems, p)
	}
	if r < 0 {
		return fmt.Errorf("cdaxsd: libxml2 failed to validate the document (%d problems before it stopped)", e.Total)
	}
	return e
}
