package refbook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Registry is the hub's current set of books: the bundled ones, plus those
// of a directory of ФНСИ exports (HUB_NSI_DIR) when one is set. A book of
// the directory with the OID and version of a bundled one replaces it; any
// other is added (a new version becomes the newest, used when a document
// gives no codeSystemVersion). The directory is reread by Reload, and by
// Watch periodically, without a restart; a directory that fails to load
// leaves the previous books in force.
type Registry struct {
	dir      string
	bundled  []*Book
	settings Settings

	mu    sync.Mutex // serialises reloads
	print string     // the directory's listing (names, sizes, times) at the last load
	cur   atomic.Pointer[Books]
}

// NewRegistry loads the bundled books and, when dir is not empty, the
// books of dir, with the default settings.
func NewRegistry(dir string) (*Registry, error) { return NewRegistryWith(dir, DefaultSettings()) }

// NewRegistryWith is NewRegistry with per-book settings (LoadSettings): the
// books of dir are read with the settings' key and name columns, and a
// setting whose columns differ from those a bundled book was built with is
// an error unless dir holds that book's export (every version in force),
// so a column setting is never silently ignored.
func NewRegistryWith(dir string, settings Settings) (*Registry, error) {
	bundled, err := Bundled()
	if err != nil {
		return nil, err
	}
	if settings == nil {
		settings = DefaultSettings()
	}
	r := &Registry{dir: dir, bundled: bundled, settings: settings}
	if dir == "" {
		books := newBooks(bundled)
		if err := books.CheckColumns(settings); err != nil {
			return nil, err
		}
		r.cur.Store(books)
		return r, nil
	}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Settings are the per-book settings the registry was made with.
func (r *Registry) Settings() Settings { return r.settings }

// CheckColumns reports an error when a setting names key or name columns
// other than those a held book was read with (a bundled book whose export
// is not in HUB_NSI_DIR): that setting could not take effect. A kind
// bundle's books.json is checked with it before it is activated.
func (s *Books) CheckColumns(settings Settings) error {
	for _, b := range s.all {
		st := settings.columnsFor(b.OID, b.Also)
		if st.KeyColumn != "" && st.KeyColumn != b.CodeColumn {
			return fmt.Errorf("refbook: the setting for %s asks for key column %s, but version %s of the book is held with %s: put its export (%s_%s.json with its passport) into HUB_NSI_DIR",
				st.OID, st.KeyColumn, b.Version, b.CodeColumn, b.OID, b.Version)
		}
		if st.NameColumn != "" && st.NameColumn != b.NameColumn {
			return fmt.Errorf("refbook: the setting for %s asks for name column %s, but version %s of the book is held with %s: put its export (%s_%s.json with its passport) into HUB_NSI_DIR",
				st.OID, st.NameColumn, b.Version, b.NameColumn, b.OID, b.Version)
		}
	}
	return nil
}

// Books returns the current books (safe to keep for one check).
func (r *Registry) Books() *Books { return r.cur.Load() }

// Dir is the directory the registry reads ("" for the bundle only).
func (r *Registry) Dir() string { return r.dir }

// fingerprint lists the directory's export files with size and time, so an
// unchanged directory is not parsed again.
func fingerprint(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("refbook: books directory: %w", err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return "", fmt.Errorf("refbook: %s: %w", filepath.Join(dir, e.Name()), err)
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

// Reload rereads the directory if its listing changed since the last load
// and reports whether the books changed. On error the previous books stay.
func (r *Registry) Reload() (bool, error) {
	if r.dir == "" {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fp, err := fingerprint(r.dir)
	if err != nil {
		return false, err
	}
	if fp == r.print && r.cur.Load() != nil {
		return false, nil
	}
	extra, err := ReadExportDirWith(r.dir, r.settings)
	if err != nil {
		return false, err
	}
	list := append(append([]*Book(nil), r.bundled...), extra...)
	books := newBooks(list)
	if err := books.CheckColumns(r.settings); err != nil {
		return false, err
	}
	r.cur.Store(books)
	r.print = fp
	return true, nil
}

// Watch calls Reload every interval until ctx ends, logging a change and,
// as an error, a directory that no longer loads (the previous books stay
// in force: dropping them would silently stop the checks).
func (r *Registry) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	if r.dir == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := r.Reload()
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				log.Error("reference books not reloaded; the previous ones stay in force: fix the books directory",
					slog.String("dir", r.dir), slog.Any("error", err))
			case changed:
				log.Info("reference books reloaded", slog.String("dir", r.dir), slog.Int("books", len(r.Books().All())))
			}
		}
	}
}
