package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Desktop and Phone are the page widths the dashboard tests look at, in CSS pixels.
const (
	Desktop = 1280
	Phone   = 390
)

// browserWait bounds one step of a Browser (a navigation, a wait for an element,
// a click): generous, since the test machines are small and shared.
const browserWait = 60 * time.Second

// ChromiumPath finds a Chromium or Chrome binary: $COMPUTE_CHROMIUM, then
// Debian's /usr/bin/chromium, then chromium, chromium-browser or google-chrome
// on PATH. It returns "" when there is none.
func ChromiumPath() string {
	if p := os.Getenv("COMPUTE_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// ConsoleEntry is one thing the page reported that a clean page never does: a
// console.error call, an uncaught exception or unhandled rejection, or an
// error of the browser's log (a failed request, a refused script under the
// Content-Security-Policy).
type ConsoleEntry struct {
	Type   string // "error" or "exception"
	Source string // for a log entry: "network", "security", "javascript"...; "" for a console call
	Text   string
	URL    string
	Line   int64 // 1-based; 0 when unknown
}

func (e ConsoleEntry) String() string {
	s := e.Type
	if e.Source != "" {
		s += " (" + e.Source + ")"
	}
	s += ": " + e.Text
	if e.URL != "" {
		s += fmt.Sprintf(" at %s:%d", e.URL, e.Line)
	}
	return s
}

// Browser is one tab of a headless Chromium, started for one test and stopped
// when it ends, with a fresh profile. It collects the page's console errors
// and uncaught exceptions as they come (a goroutine owns the reading; the list
// is guarded by mu). Its methods fail the test on a browser error or when an
// awaited element never comes; they are for the test's goroutine only.
type Browser struct {
	t   testing.TB
	ctx context.Context
	*tab
}

// tab is what every view of a Browser (For) shares.
type tab struct {
	mu     sync.Mutex
	errors []ConsoleEntry

	marks chan string // the sync marks the console reader saw (see Errors)
	mark  int         // the last mark written; the test's goroutine only
	width int         // the current viewport width; the test's goroutine only
}

// syncMark starts the console.debug text that Errors writes to know that the
// console reader has caught up with the page.
const syncMark = "testutil: console sync "

// NewBrowser starts Chromium (headless, no sandbox, no GPU, no network of its
// own beyond the pages it is sent to) with a 1280x800 viewport. Without a
// Chromium it skips the test, or fails it under COMPUTE_REQUIRE_REAL=1.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		SkipOrFail(t, "no Chromium (apt-get install chromium; or set COMPUTE_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(Desktop, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("font-render-hinting", "none"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx, tab: &tab{marks: make(chan string, 16)}}
	// The first Run starts the browser; it must not carry a timeout (that would
	// stop the browser with it), so a watchdog cancels it instead.
	started := make(chan struct{})
	go func() {
		select {
		case <-started:
		case <-time.After(2 * browserWait):
			cancelTab()
		}
	}()
	err := chromedp.Do(ctx)
	close(started)
	if err != nil {
		cancelTab()
		cancelAlloc()
		if RequireReal() {
			t.Fatalf("start Chromium %s: %v", path, err)
		}
		t.Skipf("Chromium %s does not start: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, syncMark) {
				select {
				case b.marks <- m.Text:
				default:
				}
				continue
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			e := ConsoleEntry{Type: string(m.Type), Source: m.Source, Text: m.Text, URL: m.URL}
			if m.URL != "" {
				e.Line = m.Line + 1
			}
			b.mu.Lock()
			b.errors = append(b.errors, e)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-done
	})
	b.width = Desktop
	b.viewport(Desktop, 800)
	return b
}

// For returns a view of the same browser tab that reports failures to t: a
// subtest's own t, so that a failing step ends the subtest only.
func (b *Browser) For(t testing.TB) *Browser {
	return &Browser{t: t, ctx: b.ctx, tab: b.tab}
}

// Context is the tab's chromedp context, for actions the Browser has no
// method for: run them with chromedp.Run(b.Context(), ...).
func (b *Browser) Context() context.Context { return b.ctx }

func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v\nconsole so far: %v", what, err, b.peek())
	}
}

func (b *Browser) peek() []ConsoleEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ConsoleEntry(nil), b.errors...)
}

// Errors returns the console errors and exceptions collected since the last
// call of Errors or Visit, and forgets them.
func (b *Browser) Errors() []ConsoleEntry {
	b.t.Helper()
	b.catchUp()
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errors
	b.errors = nil
	return errs
}

// NoErrors fails the test with every console error or exception collected
// since the last Errors, Visit or NoErrors, except those whose text contains
// one of allow (an expected failed request: "status of 401").
func (b *Browser) NoErrors(allow ...string) {
	b.t.Helper()
next:
	for _, e := range b.Errors() {
		for _, a := range allow {
			if strings.Contains(e.Text, a) {
				continue next
			}
		}
		b.t.Errorf("console: %s", e)
	}
}

// Visit loads url, waits until waitSelector (CSS) is visible, and returns
// the console errors and exceptions collected since the last Visit or Errors
// (those of this page load, when the caller read the earlier ones).
func (b *Browser) Visit(url, waitSelector string) []ConsoleEntry {
	b.t.Helper()
	b.do("load "+url, chromedp.Navigate(url))
	if waitSelector != "" {
		b.WaitVisible(waitSelector)
	}
	return b.Errors()
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	b.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// WaitGone waits until no element matches the CSS selector.
func (b *Browser) WaitGone(selector string) {
	b.t.Helper()
	b.do("wait for "+selector+" to go", chromedp.WaitNotPresent(chromedp.CSS(selector)))
}

// WaitTrue polls the JavaScript expression until it is truthy.
func (b *Browser) WaitTrue(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("browser: wait for %s: %v\nconsole so far: %v", expr, err, b.peek())
	}
}

// Click clicks the first visible element matching the CSS selector.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// Type empties the field matching the CSS selector (an input event tells the
// page) and types text into it key by key.
func (b *Browser) Type(selector, text string) {
	b.t.Helper()
	b.WaitVisible(selector)
	sel, _ := json.Marshal(selector)
	Eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.focus(); e.value = "";
		e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, sel))
	if text != "" {
		b.do("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text))
	}
}

// Select picks the option with the given value in the <select> matching the
// CSS selector, as a user would (the change event fires).
func (b *Browser) Select(selector, value string) {
	b.t.Helper()
	b.WaitVisible(selector)
	sel, _ := json.Marshal(selector)
	val, _ := json.Marshal(value)
	expr := fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s;
		s.dispatchEvent(new Event("input", {bubbles: true})); s.dispatchEvent(new Event("change", {bubbles: true}));
		return s.value; })()`, sel, val)
	if got := Eval[string](b, expr); got != value {
		b.t.Fatalf("browser: select %q in %s: no such option (value is %q)", value, selector, got)
	}
}

// Text returns the visible text of the first element matching the CSS selector.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	b.WaitVisible(selector)
	sel, _ := json.Marshal(selector)
	return Eval[string](b, fmt.Sprintf(`document.querySelector(%s).innerText`, sel))
}

// Texts returns the visible text of every element matching the CSS selector,
// in document order (none: an empty slice).
func (b *Browser) Texts(selector string) []string {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	return Eval[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll(%s), e => e.innerText)`, sel))
}

// Count returns how many elements match the CSS selector.
func (b *Browser) Count(selector string) int {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	return Eval[int](b, fmt.Sprintf(`document.querySelectorAll(%s).length`, sel))
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise) and
// decodes its value into T.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v\nconsole so far: %v", expr, err, b.peek())
	}
	return v
}

// ColorScheme makes the page see prefers-color-scheme as "light" or "dark"
// ("": the browser's own).
func (b *Browser) ColorScheme(scheme string) {
	b.t.Helper()
	b.do("emulate color scheme "+scheme, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if scheme != "" {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	}))
}

// SetWidth resizes the viewport to width CSS pixels (800 high), as a phone
// (touch-less mobile emulation) under 600 pixels, and lets the page lay out.
func (b *Browser) SetWidth(width int) {
	b.t.Helper()
	b.width = width
	b.viewport(width, 800)
}

func (b *Browser) viewport(width, height int) {
	b.t.Helper()
	b.do(fmt.Sprintf("resize to %dx%d", width, height), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(width), Height: int64(height), DeviceScaleFactor: 1, Mobile: width < 600,
		})
		return err
	}))
	b.settle()
}

// catchUp lets the page run two animation frames, then writes a numbered
// mark to its console and waits until the console reader has seen it: the
// browser sends console events in order, so every message the page wrote
// before is collected by then.
func (b *Browser) catchUp() {
	b.t.Helper()
	b.settle()
	b.mark++
	want := fmt.Sprintf("%s%d", syncMark, b.mark)
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", want))); err != nil {
		b.t.Logf("browser: console sync: %v", err)
		return
	}
	for {
		select {
		case got := <-b.marks:
			if got == want {
				return
			}
		case <-ctx.Done():
			b.t.Logf("browser: console sync: the mark %q never came back", want)
			return
		}
	}
}

// settle waits for two animation frames, so that layout and rendering after
// a resize or an event have happened.
func (b *Browser) settle() {
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](
		`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`, chromedp.EvalAwaitPromise))
}

// Screenshot writes a PNG of the whole page (not only the viewport) laid out
// at width CSS pixels to path, creating its directory, then restores the
// viewport width it found.
func (b *Browser) Screenshot(path string, width int) {
	b.t.Helper()
	prev := b.width
	b.viewport(width, 800)
	height := Eval[int](b, `Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))`)
	height = min(max(height, 200), 16000)
	b.viewport(width, height)
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.viewport(prev, 800)
	b.width = prev
}
