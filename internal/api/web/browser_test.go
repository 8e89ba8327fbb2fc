package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/api/web"
	"github.com/sn27/compute/internal/testutil"
)

// serve runs the dashboard and the fake /v1 API on one origin, as the API
// server mounts them.
func serve(t *testing.T, api *fakeAPI) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", web.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// shotDir is where the screenshots go: docs/img with
// COMPUTE_UPDATE_SCREENSHOTS=1, a temporary directory otherwise.
func shotDir(t *testing.T) string {
	if os.Getenv("COMPUTE_UPDATE_SCREENSHOTS") == "1" {
		return filepath.Join("..", "..", "..", "docs", "img")
	}
	return t.TempDir()
}

// uids lists the uid column of the miners table, top to bottom.
func uids(t *testing.T, b *testutil.Browser) []int {
	t.Helper()
	var out []int
	for _, s := range b.Texts("#miners-body tr[data-uid] > th") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("uid cell %q", s)
		}
		out = append(out, n)
	}
	return out
}

func wantUIDs(t *testing.T, b *testutil.Browser, what string, want ...int) {
	t.Helper()
	if got := uids(t, b); !slices.Equal(got, want) {
		t.Errorf("%s: rows are uids %v, want %v", what, got, want)
	}
}

func TestDashboardInABrowser(t *testing.T) {
	b := testutil.NewBrowser(t)
	api := newFakeAPI(t, true)
	base := serve(t, api)
	dir := shotDir(t)
	miners := api.docs["miners"].(map[string]any)["miners"].([]any)
	top := miners[0].(map[string]any)["hotkey"].(string)

	t.Run("overview", func(t *testing.T) {
		b := b.For(t)
		if errs := b.Visit(base+"/#/", "#miners-body tr[data-uid]"); len(errs) > 0 {
			t.Errorf("console on load: %v", errs)
		}
		wantUIDs(t, b, "first load", 1, 2, 3, 4, 5, 6, 7)
		if got := b.Text("#miner-count"); got != "7 miners" {
			t.Errorf("count %q", got)
		}
		cards := b.Text("#cards")
		for _, want := range []string{"H200", "A100-SXM4-80GB", "RTX 4090", "9 · 8 verified · 2 miners", "MINERS"} {
			if !strings.Contains(cards, want) && !strings.Contains(cards, strings.ToUpper(want)) {
				t.Errorf("summary cards lack %q:\n%s", want, cards)
			}
		}
		row5 := b.Text(`#miners-body tr[data-uid="5"]`)
		for _, want := range []string{"failed", "cpu mismatch", "1 × RTX 4090", "24", "64 GiB"} {
			if !strings.Contains(row5, want) {
				t.Errorf("uid 5's row lacks %q: %q", want, row5)
			}
		}
		if got := b.Text(`#miners-body tr[data-uid="4"] td[data-col="gpus"]`); got != "CPU only" {
			t.Errorf("uid 4's GPUs %q, want CPU only", got)
		}
		title := testutil.Eval[string](b, `document.querySelector('#miners-body tr[data-uid="1"] a.hk').title`)
		if title != top {
			t.Errorf("the hotkey link's title is %q, want the full hotkey %q", title, top)
		}
		// The page runs under the handler's CSP: an inline script is refused
		// (and reported), so the clean console above means no violation.
		ran := testutil.Eval[bool](b, `(() => { const s = document.createElement("script"); s.textContent = "window.inlineRan = true";
			document.head.append(s); return window.inlineRan === true; })()`)
		errs := b.Errors()
		if ran || len(errs) != 1 || !strings.Contains(errs[0].Text, "Content Security Policy") {
			t.Errorf("an inline script ran (%v) or was not reported as refused: %v", ran, errs)
		}
		b.Screenshot(filepath.Join(dir, "dashboard-overview.png"), testutil.Desktop)
		b.Screenshot(filepath.Join(dir, "dashboard-phone.png"), testutil.Phone)

		// At phone width each miner is a block of labelled values, and a
		// select orders them; nothing is wider than the screen.
		b.SetWidth(testutil.Phone)
		if got := testutil.Eval[string](b, `getComputedStyle(document.querySelector("#miners-body tr")).display`); got != "grid" {
			t.Errorf("a miner row at phone width is display %q, want grid", got)
		}
		if w := testutil.Eval[int](b, `document.documentElement.scrollWidth`); w > testutil.Phone {
			t.Errorf("the page is %d px wide at phone width: %v", w, testutil.Eval[[]string](b, `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > 391).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
		}
		b.Select("#sort-phone", "score")
		wantUIDs(t, b, "phone, score", 1, 2, 3, 6, 4, 5, 7)
		b.Click("#sort-dir")
		wantUIDs(t, b, "phone, score ascending", 5, 7, 4, 6, 3, 2, 1)
		b.Select("#sort-phone", "uid")
		b.SetWidth(testutil.Desktop)
		if w := testutil.Eval[int](b, `document.querySelector(".table-scroll").scrollWidth - document.querySelector(".table-scroll").clientWidth`); w > 0 {
			t.Errorf("the miners table is %d px too wide for %d px", w, testutil.Desktop)
		}
		b.NoErrors()
	})

	t.Run("sort", func(t *testing.T) {
		b := b.For(t)
		b.Click(`button[data-sort="score"]`)
		wantUIDs(t, b, "score, descending", 1, 2, 3, 6, 4, 5, 7)
		if got := testutil.Eval[string](b, `document.querySelector('button[data-sort="score"]').parentElement.getAttribute("aria-sort")`); got != "descending" {
			t.Errorf("aria-sort %q", got)
		}
		b.Click(`button[data-sort="score"]`)
		wantUIDs(t, b, "score, ascending", 5, 7, 4, 6, 3, 2, 1)
		b.Click(`button[data-sort="average_time"]`)
		wantUIDs(t, b, "average time, ascending (none last)", 1, 6, 2, 3, 5, 4, 7)
		b.Click(`button[data-sort="hotkey"]`)
		keys := b.Texts(`#miners-body a.hk`)
		if !slices.IsSorted(keys) {
			t.Errorf("hotkeys not in order: %v", keys)
		}
		b.Click(`button[data-sort="uid"]`)
		wantUIDs(t, b, "uid", 1, 2, 3, 4, 5, 6, 7)
		b.NoErrors()
	})

	t.Run("filter", func(t *testing.T) {
		b := b.For(t)
		b.Type("#filter-q", "4090")
		wantUIDs(t, b, "text 4090", 3, 5)
		b.Type("#filter-q", "cpu_mismatch")
		wantUIDs(t, b, "text cpu_mismatch", 5)
		b.Type("#filter-q", "nothing-like-this")
		if got := b.Text("#miners-body td.empty"); !strings.Contains(got, "No miner matches") {
			t.Errorf("empty table says %q", got)
		}
		b.Click("#miners-body td.empty button")
		wantUIDs(t, b, "filters cleared", 1, 2, 3, 4, 5, 6, 7)
		b.Click("#filter-verified")
		wantUIDs(t, b, "verified only", 1, 2, 3, 4)
		b.Select("#filter-gpu", "NVIDIA H200")
		wantUIDs(t, b, "verified H200", 1)
		b.Click("#filter-verified")
		wantUIDs(t, b, "H200", 1, 6)
		b.Select("#filter-gpu", "none")
		wantUIDs(t, b, "no GPU", 4)
		b.Select("#filter-gpu", "")
		b.Select("#filter-alloc", "yes")
		wantUIDs(t, b, "allocated", 3)
		b.Select("#filter-alloc", "no")
		wantUIDs(t, b, "free", 1, 2, 4, 5, 6, 7)
		b.Select("#filter-alloc", "")
		if got := b.Text("#miner-count"); got != "7 miners" {
			t.Errorf("count %q", got)
		}
		b.NoErrors()
	})

	t.Run("refresh keeps sort and filter", func(t *testing.T) {
		b := b.For(t)
		b.Type("#filter-q", "h200")
		b.Click(`button[data-sort="score"]`)
		wantUIDs(t, b, "h200 by score", 1, 6)
		before := api.hits()
		block := b.Text("#cards .card:nth-child(4) .value")
		b.WaitTrue(`document.querySelector("#cards .card:nth-child(4) .value").textContent !== ` + strconv.Quote(block))
		if api.hits() <= before {
			t.Errorf("the block changed without a new /v1/miners")
		}
		wantUIDs(t, b, "after a refresh", 1, 6)
		if got := testutil.Eval[string](b, `document.querySelector("#filter-q").value`); got != "h200" {
			t.Errorf("filter field %q after a refresh", got)
		}
		// A reload keeps them too (sessionStorage).
		b.Visit(base+"/#/", "#miners-body tr[data-uid]")
		wantUIDs(t, b, "after a reload", 1, 6)
		b.Type("#filter-q", "")
		b.Click(`button[data-sort="uid"]`)
		wantUIDs(t, b, "back to uid order", 1, 2, 3, 4, 5, 6, 7)
		b.NoErrors()
	})

	t.Run("miner", func(t *testing.T) {
		b := b.For(t)
		b.Click(`#miners-body tr[data-uid="1"] a.hk`)
		b.WaitVisible("#chart-score svg path.line")
		b.WaitVisible("#chart-difficulty svg path.line")
		b.WaitVisible("#chart-time svg circle.dot")
		if n := b.Count("#chart-time circle.dot"); n != 120 {
			t.Errorf("solve-time chart has %d points, want 120", n)
		}
		if n := b.Count("#chart-time circle.dot.bad"); n == 0 {
			t.Errorf("solve-time chart shows no failed challenge")
		}
		if got := b.Text("h1"); got != "Miner 1" {
			t.Errorf("heading %q", got)
		}
		if got := b.Text("main"); !strings.Contains(got, top) || !strings.Contains(got, "192 cores") || !strings.Contains(got, "2 TiB") {
			t.Errorf("the miner page lacks the hotkey or specs:\n%s", got)
		}
		if got := b.Texts("#gpu-table tbody tr"); len(got) != 1 || got[0] != "NVIDIA H200\t8\t140 GiB" {
			t.Errorf("GPU table rows %q, want one: NVIDIA H200, 8, 140 GiB", got)
		}
		b.Click(`button[data-hours="6"]`)
		b.WaitTrue(`document.querySelector('button[data-hours="6"]').getAttribute("aria-pressed") === "true" && document.querySelectorAll("#chart-time circle.dot").length > 0`)
		b.Click(`button[data-hours="24"]`)
		b.WaitVisible("#chart-time svg circle.dot")
		b.Screenshot(filepath.Join(dir, "dashboard-miner.png"), testutil.Desktop)
		b.Screenshot(filepath.Join(t.TempDir(), "miner-phone.png"), testutil.Phone)
		b.NoErrors()

		// A miner without history or specs, and one that does not exist.
		b.Visit(base+"/#/miner/"+miners[6].(map[string]any)["hotkey"].(string), "#chart-score .chart-empty")
		if got := b.Text("main"); !strings.Contains(got, "sent no specs") {
			t.Errorf("miner 7's page:\n%s", got)
		}
		b.NoErrors()
		b.Visit(base+"/#/miner/5Nobody", ".problem")
		if got := b.Text(".problem"); !strings.Contains(got, "No such miner") || !strings.Contains(got, "404") {
			t.Errorf("unknown miner: %q", got)
		}
		b.NoErrors("status of 404")
	})

	t.Run("validator", func(t *testing.T) {
		b := b.For(t)
		b.Visit(base+"/#/validator", "#weights-body tr")
		if n := b.Count("#rounds-body tr"); n != 12 {
			t.Errorf("%d rounds, want 12", n)
		}
		if n := b.Count("#weights-body tr"); n != 8 {
			t.Errorf("%d weights rows, want 8", n)
		}
		if n := b.Count("#chart-rounds rect.bar-ok"); n != 12 {
			t.Errorf("rounds chart has %d bars, want 12", n)
		}
		st := b.Texts("#weights-body td .badge")
		if !slices.Contains(st, "pending") || !slices.Contains(st, "revealed") || !slices.Contains(st, "missed") {
			t.Errorf("weights statuses %v", st)
		}
		b.Click("#weights-body tr:first-child details summary")
		if got := b.Text("#weights-body tr:first-child .wlist"); !strings.Contains(got, "uid 1:") {
			t.Errorf("weights of the first row: %q", got)
		}
		b.Screenshot(filepath.Join(dir, "dashboard-validator.png"), testutil.Desktop)
		b.NoErrors()
	})

	t.Run("rentals", func(t *testing.T) {
		b := b.For(t)
		b.Visit(base+"/#/rentals", "form.keyform input")
		if n := b.Count("article.rental"); n != 0 {
			t.Errorf("%d rentals shown without a key", n)
		}
		// A read-only key is refused with the API's problem.
		b.Type("form.keyform input", readKey)
		b.Click("form.keyform button[type=submit]")
		b.WaitVisible(".problem")
		if got := b.Text(".problem"); !strings.Contains(got, "Forbidden (403)") || !strings.Contains(got, "lacks the rent scope") {
			t.Errorf("403 shown as %q", got)
		}
		b.NoErrors("status of 403")
		b.Click(".keyset button")
		b.Type("form.keyform input", rentKey)
		b.Click("form.keyform button[type=submit]")
		b.WaitVisible("article.rental")
		if n := b.Count("article.rental"); n != 3 {
			t.Errorf("%d rentals, want 3", n)
		}
		if got := b.Texts("article.rental .id"); !slices.Equal(got, []string{"r_2c7x5w1v", "r_8f3k2m9q", "r_9a4b6n0z"}) {
			t.Errorf("rentals in order %v, want unhealthy, active, released", got)
		}
		if got := b.Text(`article[data-id="r_8f3k2m9q"] .sshbox code`); got != "ssh root@198.51.100.7 -p 40022" {
			t.Errorf("ssh command %q", got)
		}
		if n := b.Count(`article[data-id="r_9a4b6n0z"] .actions`); n != 0 {
			t.Errorf("a released rental offers actions")
		}
		if got := b.Text(`article[data-id="r_2c7x5w1v"]`); !strings.Contains(got, "Connection timed out") || !strings.Contains(got, "3 missed checks") {
			t.Errorf("the unhealthy rental does not say why:\n%s", got)
		}
		key := testutil.Eval[string](b, `sessionStorage.getItem("compute.apiKey")`)
		if key != rentKey {
			t.Errorf("sessionStorage holds %q", key)
		}
		b.Click(`article[data-id="r_8f3k2m9q"] .sshbox button`)
		b.WaitTrue(`document.querySelector('article[data-id="r_8f3k2m9q"] .sshbox button').textContent !== "Copy"`)

		// Extend by two days, then ask too much: the problem is shown.
		expires := b.Text(`article[data-id="r_8f3k2m9q"] dd.expires`)
		b.Type(`#days-r_8f3k2m9q`, "2")
		b.Click(`article[data-id="r_8f3k2m9q"] button[data-action="extend"]`)
		b.WaitVisible(`article[data-id="r_8f3k2m9q"] .result .done`)
		if got := b.Text(`article[data-id="r_8f3k2m9q"] .result`); got != "Extended by 2 days." {
			t.Errorf("extend says %q", got)
		}
		if got := b.Text(`article[data-id="r_8f3k2m9q"] dd.expires`); got == expires {
			t.Errorf("expiry still %q after extending", got)
		}
		b.Type(`#days-r_8f3k2m9q`, "30")
		b.Click(`article[data-id="r_8f3k2m9q"] button[data-action="extend"]`)
		b.WaitVisible(`article[data-id="r_8f3k2m9q"] .result .problem`)
		got := b.Text(`article[data-id="r_8f3k2m9q"] .result .problem`)
		for _, want := range []string{"Could not extend: Lease too long (422)", "longer than the 7 days", "/v1/rentals/r_8f3k2m9q/extend"} {
			if !strings.Contains(got, want) {
				t.Errorf("the 422 problem lacks %q: %q", want, got)
			}
		}
		b.NoErrors("status of 422")
		b.Screenshot(filepath.Join(dir, "dashboard-rentals.png"), testutil.Desktop)
		b.Screenshot(filepath.Join(t.TempDir(), "rentals-phone.png"), testutil.Phone)

		b.Click(`article[data-id="r_2c7x5w1v"] button[data-action="restart"]`)
		b.WaitVisible(`article[data-id="r_2c7x5w1v"] .result .done`)
		// Release takes a second click to confirm.
		b.Click(`article[data-id="r_2c7x5w1v"] button[data-action="release"]`)
		if got := b.Text(`article[data-id="r_2c7x5w1v"] button[data-action="release"]`); got != "Confirm release" {
			t.Errorf("release button says %q after one click", got)
		}
		b.Click(`article[data-id="r_2c7x5w1v"] button[data-action="release"]`)
		b.WaitVisible(`article[data-id="r_2c7x5w1v"].ended`)
		if got := b.Text(`article[data-id="r_2c7x5w1v"] .badge`); got != "released" {
			t.Errorf("status after release %q", got)
		}
		b.Click("#show-ended")
		if got := b.Texts("article.rental .id"); !slices.Equal(got, []string{"r_8f3k2m9q"}) {
			t.Errorf("live rentals %v", got)
		}
		b.Click("#show-ended")
		b.NoErrors()
	})

	t.Run("dark", func(t *testing.T) {
		b := b.For(t)
		b.ColorScheme("dark")
		defer b.ColorScheme("")
		b.Visit(base+"/#/", "#miners-body tr[data-uid]")
		bg := testutil.Eval[string](b, `getComputedStyle(document.body).backgroundColor`)
		if bg != "rgb(14, 17, 22)" {
			t.Errorf("dark background %q", bg)
		}
		b.Screenshot(filepath.Join(dir, "dashboard-dark.png"), testutil.Desktop)
		b.NoErrors()
	})
}

// TestDashboardAsksForAKey: with reads closed to requests without a key, the
// pages say so, offer the key field, and work once a key is given.
func TestDashboardAsksForAKey(t *testing.T) {
	b := testutil.NewBrowser(t)
	base := serve(t, newFakeAPI(t, false))
	b.Visit(base+"/#/", ".needkey form.keyform input")
	if got := b.Text(".needkey"); !strings.Contains(got, "needs an API key") || !strings.Contains(got, "Unauthorized (401)") {
		t.Errorf("the notice says %q", got)
	}
	b.NoErrors("status of 401")
	b.Type(".needkey input", "ck_wrong")
	b.Click(".needkey button[type=submit]")
	b.WaitTrue(`(document.querySelector(".needkey h2") || {}).textContent === "The API refused this key"`)
	if got := b.Text(".needkey"); !strings.Contains(got, "unknown or revoked API key") {
		t.Errorf("a wrong key: %q", got)
	}
	b.NoErrors("status of 401")
	b.Type(".needkey input", readKey)
	b.Click(".needkey button[type=submit]")
	b.WaitVisible("#miners-body tr[data-uid]")
	wantUIDs(t, b, "with a key", 1, 2, 3, 4, 5, 6, 7)
	b.Visit(base+"/#/validator", "#weights-body tr")
	b.NoErrors()
	// The header's key button forgets it; the page asks again.
	b.Click("#keybtn")
	b.Click("#keypanel .keyset button")
	b.WaitVisible(".needkey")
	b.NoErrors("status of 401")
}
