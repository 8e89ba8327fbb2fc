package testutil_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/testutil"
)

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width">
<script src="/page.js" defer></script></head>
<body><h1 id="title">Hello</h1><input id="name"><p id="echo"></p>
<div id="tall"></div></body></html>`

const script = `
document.getElementById("name").addEventListener("input", (e) => { document.getElementById("echo").textContent = "hi " + e.target.value; });
document.getElementById("tall").style.height = "1500px";
console.log("not an error");
console.error("something broke", 42);
setTimeout(() => { throw new Error("uncaught here"); }, 0);
`

func TestBrowserHarness(t *testing.T) {
	b := testutil.NewBrowser(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	mux.HandleFunc("/page.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(script))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var text []string
	for _, e := range b.Visit(srv.URL+"/", "#title") {
		text = append(text, e.String())
	}
	all := strings.Join(text, "\n")
	if !strings.Contains(all, "something broke 42") || !strings.Contains(all, "uncaught here") || strings.Contains(all, "not an error") {
		t.Errorf("console errors:\n%s", all)
	}
	if errs := b.Errors(); len(errs) != 0 {
		t.Errorf("Errors did not forget: %v", errs)
	}
	b.Visit(srv.URL+"/", "#title")
	b.Errors()
	testutil.Eval[bool](b, `(() => { const i = document.createElement("img"); i.src = "/missing.png"; document.body.append(i); return true; })()`)
	b.WaitTrue(`performance.getEntriesByName(location.origin + "/missing.png").length > 0`)
	if errs := b.Errors(); len(errs) != 1 || errs[0].Source != "network" || !strings.Contains(errs[0].Text, "404") {
		t.Errorf("an image that is not there: %v", errs)
	}

	b.Visit(srv.URL+"/", "#title")
	b.Errors()
	b.Type("#name", "there")
	if got := b.Text("#echo"); got != "hi there" {
		t.Errorf("typed: %q", got)
	}
	if n := b.Count("h1, p"); n != 2 {
		t.Errorf("Count %d", n)
	}

	dir := t.TempDir()
	for _, width := range []int{testutil.Desktop, testutil.Phone} {
		path := filepath.Join(dir, "shot.png")
		b.Screenshot(path, width)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.DecodeConfig(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if img.Width != width || img.Height < 1500 {
			t.Errorf("screenshot at %d: %dx%d, want %d wide and the whole page (over 1500 high)", width, img.Width, img.Height, width)
		}
	}
	if w := testutil.Eval[int](b, `window.innerWidth`); w != testutil.Desktop {
		t.Errorf("the viewport is %d wide after the screenshots, want %d again", w, testutil.Desktop)
	}
}
