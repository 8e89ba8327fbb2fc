package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/api/web"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestHandlerServesThePageAndItsAssets(t *testing.T) {
	h := web.Handler()
	_, page := get(t, h, "GET", "/", nil)
	ref := regexp.MustCompile(`"(/assets/[a-z]+\.(?:js|css|svg))\?v=([0-9a-f]{16})"`)
	refs := ref.FindAllStringSubmatch(page, -1)
	if len(refs) != 3 {
		t.Fatalf("the page names %d versioned assets, want 3 (app.js, app.css, favicon.svg):\n%s", len(refs), page)
	}
	tests := []struct {
		name, method, target string
		hdr                  map[string]string
		status               int
		ctype, cache, body   string
	}{
		{"page", "GET", "/", nil, 200, "text/html; charset=utf-8", "no-cache", "<main id=\"main\""},
		{"page by name", "GET", "/index.html", nil, 200, "text/html; charset=utf-8", "no-cache", "<main id=\"main\""},
		{"page head", "HEAD", "/", nil, 200, "text/html; charset=utf-8", "no-cache", ""},
		{"script, versioned", "GET", refs[0][1] + "?v=" + refs[0][2], nil, 200, "", "public, max-age=31536000, immutable", ""},
		{"script, stale version", "GET", "/assets/app.js?v=0000000000000000", nil, 200, "text/javascript; charset=utf-8", "no-cache", "use strict"},
		{"style", "GET", "/assets/app.css", nil, 200, "text/css; charset=utf-8", "no-cache", "prefers-color-scheme"},
		{"icon", "GET", "/assets/favicon.svg", nil, 200, "image/svg+xml", "no-cache", "<svg"},
		{"unknown path", "GET", "/v2/nothing", nil, 404, "text/plain; charset=utf-8", "no-cache", "the dashboard is at /"},
		{"directory", "GET", "/assets/", nil, 404, "", "", ""},
		{"traversal", "GET", "/assets/../web.go", nil, 404, "", "", ""},
		{"post", "POST", "/", nil, 405, "", "", "method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, h, tt.method, tt.target, tt.hdr)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tt.status, body)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != web.CSP {
				t.Errorf("CSP %q, want %q", got, web.CSP)
			}
			for _, k := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
				if res.Header.Get(k) == "" {
					t.Errorf("no %s header", k)
				}
			}
			if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.cache != "" && res.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tt.cache)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body lacks %q:\n%.300s", tt.body, body)
			}
			if tt.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", res.Header.Get("Allow"))
			}
			if tt.method == "HEAD" && body != "" {
				t.Errorf("HEAD has a body")
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := web.Handler()
	for _, p := range []string{"/", "/assets/app.js"} {
		res, _ := get(t, h, "GET", p, nil)
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", p)
		}
		res, body := get(t, h, "GET", p, map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s with If-None-Match: status %d, body %d bytes; want 304 and none", p, res.StatusCode, len(body))
		}
	}
}

// TestAssetsRunUnderTheCSP checks what "default-src 'self'" forbids: inline
// scripts, inline event handlers, style attributes and elements, and
// anything loaded from elsewhere, and the script's ways of creating them.
func TestAssetsRunUnderTheCSP(t *testing.T) {
	h := web.Handler()
	_, page := get(t, h, "GET", "/", nil)
	_, js := get(t, h, "GET", "/assets/app.js", nil)
	_, css := get(t, h, "GET", "/assets/app.css", nil)
	bad := []struct {
		in, what string
		re       *regexp.Regexp
	}{
		{page, "an inline event handler", regexp.MustCompile(`\son[a-z]+\s*=`)},
		{page, "a style attribute or element", regexp.MustCompile(`\sstyle\s*=|<style`)},
		{page, "a resource from elsewhere", regexp.MustCompile(`(?:src|href)="(?:https?:)?//`)},
		{css, "a resource from elsewhere", regexp.MustCompile(`url\(|@import`)},
		{js, "HTML parsing", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write`)},
		{js, "code from a string", regexp.MustCompile(`\beval\(|new Function|setTimeout\("|setInterval\("`)},
		{js, "a style or handler attribute", regexp.MustCompile(`setAttribute\("(?:style|on)`)},
		{strings.ReplaceAll(js, `"http://www.w3.org/2000/svg"`, ""), "a resource from elsewhere", regexp.MustCompile(`https?://`)},
	}
	scripts := regexp.MustCompile(`<script([^>]*)>([^<]*)</script>`).FindAllStringSubmatch(page, -1)
	if len(scripts) != strings.Count(page, "<script") {
		t.Errorf("the page has a <script> not of the form <script src=...></script>")
	}
	for _, sc := range scripts {
		if !strings.Contains(sc[1], "src=") || strings.TrimSpace(sc[2]) != "" {
			t.Errorf("the page has an inline script: %q", sc[0])
		}
	}
	for _, b := range bad {
		if m := b.re.FindString(b.in); m != "" {
			t.Errorf("the dashboard has %s: %q", b.what, m)
		}
	}
}
