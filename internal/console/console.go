// Package console is the operator console at /console/: the dashboards
// "Ошибки регистрации", "Причины отказа" and "Доставка" over the figures
// of internal/stats, drawn on the server (html/template, SVG charts, no
// JavaScript, nothing loaded from outside: the stylesheet is embedded),
// filters kept in the URL so a view can be shared, and "Скачать отчет" as
// XLSX or CSV of the view.
//
// Sign-in takes an operator key once and keeps a session: the cookie
// carries a random token (HttpOnly, SameSite=Strict, Secure over TLS),
// only its SHA-256 is stored, and every request joins it with the key, so
// revoking the key ends its sessions at once. POSTs must come from the
// console's own origin when the browser says where they come from.
package console

import (
	"fmt"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/google/uuid"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
)

//go:embed assets
var assets embed.FS

// CookieName is the session cookie.
const CookieName = "hub_console"

// Console serves /console/.
type Console struct {
	Store   *store.Store
	Stats   *stats.Service
	Pool    *pgxpool.Pool
	Log     *slog.Logger
	Breaker func(peer string) string // the workflow's breaker states; nil: unknown
	TTL     time.Duration            // session lifetime (HUB_CONSOLE_SESSION_TTL)
	Kinds   *kinds.Registry          // run-time kinds for the "Виды СЭМД" page; nil: the page answers 404
	Now     func() time.Time

	mux  *http.ServeMux
	tmpl *template.Template
}

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Console) init() {
	if c.mux != nil {
		return
	}
	c.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
	m := http.NewServeMux()
	m.HandleFunc("GET /console/{$}", c.authed(func(w http.ResponseWriter, r *http.Request, _ *operator) {
		http.Redirect(w, r, "/console/registration", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/logout", c.logout)
	m.HandleFunc("GET /console/registration", c.authed(c.registration))
	m.HandleFunc("GET /console/refusals", c.authed(c.refusals))
	m.HandleFunc("GET /console/deliveries", c.authed(c.deliveries))
	m.HandleFunc("GET /console/report", c.authed(c.report))
	c.kindsRoutes(m)
	m.HandleFunc("GET /console/static/console.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		b, _ := assets.ReadFile("assets/console.css")
		_, _ = w.Write(b)
	})
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, codes.NotFound, "no route "+r.Method+" "+r.URL.EscapedPath())
	})
	c.mux = m
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.init()
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// operator is the signed-in key.
type operator struct {
	KeyID string
	Name  string
}

func hashToken(t string) []byte { s := sha256.Sum256([]byte(t)); return s[:] }

// authed runs h for a signed-in operator; others go to the sign-in page.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *operator)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op, err := c.session(r.Context(), r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if op == nil {
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, op)
	}
}

func (c *Console) session(ctx context.Context, r *http.Request) (*operator, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	var op operator
	err = c.Pool.QueryRow(ctx, `SELECT k.id::text, k.name FROM console_sessions s JOIN api_keys k ON k.id = s.key_id
		WHERE s.token_hash = $1 AND s.expires_at > now() AND k.role = 'operator' AND (k.revoked_at IS NULL OR k.revoked_at > now())`,
		hashToken(ck.Value)).Scan(&op.KeyID, &op.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// sameOrigin refuses a POST another site made the browser send.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, "login.html", map[string]any{"Next": safeNext(r.URL.Query().Get("next")), "Error": r.URL.Query().Get("error")})
}

// safeNext keeps a redirect inside the console.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/console/") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\r\n") {
		return "/console/registration"
	}
	return n
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		jsonError(w, http.StatusForbidden, codes.Forbidden, "cross-site sign-in refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		jsonError(w, http.StatusBadRequest, codes.BadRequest, "the sign-in form is unreadable")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	again := func(msg string) {
		http.Redirect(w, r, "/console/login?error="+url.QueryEscape(msg)+"&next="+url.QueryEscape(next), http.StatusSeeOther)
	}
	p, err := c.Store.Authenticate(r.Context(), strings.TrimSpace(r.PostForm.Get("key")))
	if errors.Is(err, store.ErrNotFound) {
		again("Ключ не найден или отозван")
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if p.Role != store.RoleOperator {
		again("Нужен ключ оператора")
		return
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		c.fail(w, r, err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	if _, err := c.Pool.Exec(r.Context(), `INSERT INTO console_sessions (token_hash, key_id, expires_at) VALUES ($1, $2, now() + $3::interval)`,
		hashToken(token), p.KeyID, ttl.String()); err != nil {
		c.fail(w, r, err)
		return
	}
	_, _ = c.Pool.Exec(r.Context(), `DELETE FROM console_sessions WHERE expires_at < now()`)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(ttl.Seconds())})
	c.Log.Info("console sign-in", slog.String("key_id", p.KeyID.String()), slog.String("caller", p.Name))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		jsonError(w, http.StatusForbidden, codes.Forbidden, "cross-site sign-out refused")
		return
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		if _, err := c.Pool.Exec(r.Context(), `DELETE FROM console_sessions WHERE token_hash = $1`, hashToken(ck.Value)); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/console/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Внутренняя ошибка"
	var ce *codes.Error
	if errors.As(err, &ce) && ce.Status < 500 {
		status, msg = ce.Status, ce.Message
	} else {
		c.Log.Error("console request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	w.WriteHeader(status)
	c.render(w, "error.html", map[string]any{"Status": status, "Message": msg})
}

// jsonError answers what is not a page (an unknown path, a refused POST)
// in the hub's error shape, with the request id the API's middleware set.
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg, "request_id": w.Header().Get("X-Request-ID")})
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := c.tmpl.ExecuteTemplate(w, name, data); err != nil {
		c.Log.Error("console template", slog.String("template", name), slog.Any("error", err))
	}
}

// Principal is the operator signed in to the console by the request's
// session cookie (nil, nil: none), for other operator pages a browser opens
// with the same sign-in (River UI at /riverui/): the cookie is
// SameSite=Strict, so another site cannot make the browser use it.
func (c *Console) Principal(r *http.Request) (*store.Principal, error) {
	op, err := c.session(r.Context(), r)
	if err != nil || op == nil {
		return nil, err
	}
	id, err := uuid.Parse(op.KeyID)
	if err != nil {
		return nil, fmt.Errorf("console: session key id %q: %w", op.KeyID, err)
	}
	return &store.Principal{KeyID: id, Role: store.RoleOperator, Name: op.Name}, nil
}
