package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// webFS holds the page: index.html and the assets it loads, plain HTML, CSS
// and JavaScript with no build step and nothing from another origin.
//
//go:embed web
var webFS embed.FS

// asset is a file of the page, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets maps a path under web/ ("index.html", "assets/app.js") to its
// file. It is read at start-up and never changed.
var assets = func() map[string]asset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	out := map[string]asset{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		out[p[len("web/"):]] = asset{
			body:        body,
			contentType: types[path.Ext(p)],
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic("admin: reading the embedded page: " + err.Error()) // the files are compiled in
	}
	return out
}()

// serveAsset returns a handler of one file of the page, revalidated by its
// ETag on every load so that an upgrade of the application is seen at once.
func serveAsset(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[name]
		if !ok || a.contentType == "" {
			writeProblem(w, http.StatusNotFound, "not_found", "There is nothing at this address.")
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	}
}
