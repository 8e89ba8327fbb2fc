// Package web is the renter API's dashboard: a few hand-written pages (HTML,
// CSS and plain JavaScript, embedded in the binary, nothing fetched from
// elsewhere) that read the /v1 JSON endpoints of the same origin. The subnet
// overview lists the miners; a miner's page charts its difficulty, solve
// times and score; the validator's page shows its rounds and weights; the
// rentals page acts on the rentals of a pasted API key (kept in the tab's
// sessionStorage and sent as a bearer token).
//
// The pages run no inline script or style and load nothing from elsewhere, so
// they work under the Content-Security-Policy that Handler sets (see CSP).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every response of Handler: scripts,
// styles, images and requests from the same origin only, no plugins, no
// framing, no <base> and forms posting to the same origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string // quoted, of the body
}

// handler serves the dashboard; it is built once by Handler and read-only
// afterwards.
type handler struct {
	index   asset
	files   map[string]asset // by URL path, /assets/...
	version map[string]string
}

// Handler serves the dashboard: the page at / (and /index.html) and its
// assets under /assets/. Anything else is 404; methods other than GET and
// HEAD are 405. Every response carries CSP and the usual hardening headers;
// the page is revalidated on each load (ETag), and the assets it names carry
// their content hash in the URL (?v=) and are cached for a year.
func Handler() http.Handler {
	h := &handler{files: map[string]asset{}, version: map[string]string{}}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		h.files["/"+p] = newAsset(p, b)
		return nil
	})
	if err != nil {
		// The files are compiled in: a failure here is a build mistake.
		panic("web: read embedded assets: " + err.Error())
	}
	page, ok := h.files["/assets/index.html"]
	if !ok {
		panic("web: assets/index.html is not embedded")
	}
	delete(h.files, "/assets/index.html")
	// Point the page at the exact versions of its assets.
	body := page.body
	for p, a := range h.files {
		h.version[p] = strings.Trim(a.etag, `"`)
		body = bytes.ReplaceAll(body, []byte(`"`+p+`"`), []byte(`"`+p+"?v="+h.version[p]+`"`))
	}
	h.index = newAsset("index.html", body)
	return h
}

func newAsset(name string, b []byte) asset {
	sum := sha256.Sum256(b)
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var a asset
	switch p := r.URL.Path; p {
	case "/", "/index.html":
		a = h.index
		hd.Set("Cache-Control", "no-cache")
	default:
		f, ok := h.files[p]
		if !ok {
			hd.Set("Cache-Control", "no-cache")
			http.Error(w, "not found: the dashboard is at /", http.StatusNotFound)
			return
		}
		a = f
		if v := r.URL.Query().Get("v"); v != "" && v == h.version[p] {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "no-cache")
		}
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
