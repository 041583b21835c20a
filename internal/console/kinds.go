package console

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/store"
)

// The "Виды СЭМД" page (issue 12, item 4): what every kind is checked
// against in this process, every stored bundle version, and the forms an
// operator uses to upload a bundle, activate a stored version or roll a
// kind back. It does through the registry exactly what the operator API
// does (POST /api/v1/ops/kinds/…): the bundle is compiled and tried on its
// samples before it is stored, the change is audited under the signed-in
// operator's key, and every hub process follows through NOTIFY hub_kinds.
// A refused bundle is shown with the registry's problems (file, line,
// rule) and changes nothing.

// kindsPage is the page's data.
type kindsPage struct {
	Title    string
	Active   string
	Operator *operator
	InForce  []*kinds.Set
	Versions []kinds.Version
	Done     string          // what the last change did ("?done=")
	Error    *codes.Error    // a refused change, shown above the forms
	Problems []kinds.Problem // its details, when the registry gave them
}

func (c *Console) kindsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console/kinds", c.authed(c.kindsList))
	m.HandleFunc("POST /console/kinds", c.authed(c.kindsChange(c.kindsUpload)))
	m.HandleFunc("POST /console/kinds/{kind}/versions/{version}/activate", c.authed(c.kindsChange(c.kindsActivate)))
	m.HandleFunc("POST /console/kinds/{kind}/rollback", c.authed(c.kindsChange(c.kindsRollback)))
}

// kindsChange guards a change: it must come from the console's own origin,
// and a console without a registry answers the page's 404.
func (c *Console) kindsChange(h func(http.ResponseWriter, *http.Request, *operator)) func(http.ResponseWriter, *http.Request, *operator) {
	return func(w http.ResponseWriter, r *http.Request, op *operator) {
		if !sameOrigin(r) {
			jsonError(w, http.StatusForbidden, codes.Forbidden, "cross-site change refused")
			return
		}
		if c.Kinds == nil {
			c.kindsPage(w, r, op, 0, nil)
			return
		}
		h(w, r, op)
	}
}

func (op *operator) actor() store.Actor {
	a := store.Actor{Kind: store.ActorOperator, Name: op.Name}
	if id, err := uuid.Parse(op.KeyID); err == nil {
		a.KeyID = &id
	}
	return a
}

func (c *Console) kindsPage(w http.ResponseWriter, r *http.Request, op *operator, status int, refusal *codes.Error) {
	if c.Kinds == nil {
		c.fail(w, r, codes.New(http.StatusNotFound, codes.ObjectNotFound, "Виды СЭМД не настраиваются на этом сервере"))
		return
	}
	versions, err := c.Kinds.List(r.Context(), "")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &kindsPage{Title: "Виды СЭМД", Active: "kinds", Operator: op, InForce: c.Kinds.InForce(), Versions: versions,
		Done: r.URL.Query().Get("done"), Error: refusal}
	if refusal != nil {
		p.Problems, _ = refusal.Details.([]kinds.Problem)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, "kinds.html", p)
}

func (c *Console) kindsList(w http.ResponseWriter, r *http.Request, op *operator) {
	c.kindsPage(w, r, op, http.StatusOK, nil)
}

// kindsDone answers a change, or shows its refusal on the page.
func (c *Console) kindsDone(w http.ResponseWriter, r *http.Request, op *operator, err error, done string) {
	var ce *codes.Error
	if errors.As(err, &ce) && ce.Status < 500 {
		c.kindsPage(w, r, op, ce.Status, ce)
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.Log.Info("console kind change", slog.String("key_id", op.KeyID), slog.String("change", done))
	http.Redirect(w, r, "/console/kinds?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// kindsUpload takes the upload form (multipart: kind, note, activate, bundle).
func (c *Console) kindsUpload(w http.ResponseWriter, r *http.Request, op *operator) {
	limit := c.Kinds.Limits.MaxZipBytes
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			c.kindsDone(w, r, op, codes.New(http.StatusRequestEntityTooLarge, codes.KindBundleTooLarge, "Архив больше %d байт", limit), "")
			return
		}
		c.kindsDone(w, r, op, codes.New(http.StatusBadRequest, codes.BadRequest, "Форма загрузки не читается: %v", err), "")
		return
	}
	defer r.MultipartForm.RemoveAll()
	kind := strings.TrimSpace(r.PostFormValue("kind"))
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > 1000 {
		c.kindsDone(w, r, op, codes.New(http.StatusBadRequest, codes.BadRequest, "Примечание длиннее 1000 байт"), "")
		return
	}
	f, _, err := r.FormFile("bundle")
	if err != nil {
		c.kindsDone(w, r, op, codes.New(http.StatusBadRequest, codes.BadRequest, "Выберите zip-архив вида СЭМД"), "")
		return
	}
	defer f.Close()
	zb, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if int64(len(zb)) > limit {
		c.kindsDone(w, r, op, codes.New(http.StatusRequestEntityTooLarge, codes.KindBundleTooLarge, "Архив больше %d байт", limit), "")
		return
	}
	activate := r.PostFormValue("activate") != ""
	v, err := c.Kinds.Upload(r.Context(), op.actor(), kind, zb, note, activate)
	if err != nil {
		c.kindsDone(w, r, op, err, "")
		return
	}
	done := "Загружена версия " + strconv.Itoa(v.Version) + " вида " + v.Kind
	if activate {
		done += ", она действует"
	} else {
		done += " (не активирована)"
	}
	c.kindsDone(w, r, op, nil, done)
}

func (c *Console) kindsActivate(w http.ResponseWriter, r *http.Request, op *operator) {
	kind := r.PathValue("kind")
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n <= 0 {
		c.kindsDone(w, r, op, codes.New(http.StatusNotFound, codes.NotFound, "У вида %s нет версии %q", kind, r.PathValue("version")), "")
		return
	}
	v, err := c.Kinds.Activate(r.Context(), op.actor(), kind, n)
	if err != nil {
		c.kindsDone(w, r, op, err, "")
		return
	}
	c.kindsDone(w, r, op, nil, "Вид "+v.Kind+": действует версия "+strconv.Itoa(v.Version))
}

func (c *Console) kindsRollback(w http.ResponseWriter, r *http.Request, op *operator) {
	kind := r.PathValue("kind")
	v, err := c.Kinds.Rollback(r.Context(), op.actor(), kind)
	if err != nil {
		c.kindsDone(w, r, op, err, "")
		return
	}
	done := "Вид " + kind + " откачен к исходной схематроне хаба"
	if v != nil {
		done = "Вид " + kind + " откачен к версии " + strconv.Itoa(v.Version)
	}
	c.kindsDone(w, r, op, nil, done)
}
