package api

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/testutil"
)

// TestDashboardOverRealNetwork loads the dashboard in headless Chromium
// from the API served over the test network (a real validator's store
// after its rounds with real miners): every miner is listed, a miner's
// page and the validator's page render, and nothing is logged to the
// console. With COMPUTE_UPDATE_SCREENSHOTS=1 the overview is saved as
// docs/img/dashboard-devnet.png.
func TestDashboardOverRealNetwork(t *testing.T) {
	b := testutil.NewBrowser(t)
	ts := newTestServer(t, func(c *Config, _ *Deps) { c.PublicRead = true })
	var list struct {
		Miners []minerWire `json:"miners"`
	}
	ts.get("/v1/miners", "").decode(t, &list)
	if len(list.Miners) < 2 {
		t.Fatalf("%d miners in the API, want the network's", len(list.Miners))
	}
	var want []string
	for _, m := range list.Miners {
		want = append(want, strconv.Itoa(int(m.UID)))
	}
	slices.Sort(want)

	if errs := b.Visit(ts.url+"/#/", "#miners-body tr[data-uid]"); len(errs) > 0 {
		t.Errorf("console on load: %v", errs)
	}
	b.WaitTrue(`document.querySelectorAll("#miners-body tr[data-uid]").length === ` + strconv.Itoa(len(want)))
	got := testutil.Eval[[]string](b, `Array.from(document.querySelectorAll("#miners-body tr[data-uid]")).map(r => r.dataset.uid)`)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the dashboard lists uids %v, the API %v", got, want)
	}
	if body := b.Text("#miners-body"); !strings.Contains(body, "H200") {
		t.Errorf("the big miner's GPUs are not shown:\n%s", body)
	}
	if os.Getenv("COMPUTE_UPDATE_SCREENSHOTS") == "1" {
		b.Screenshot(filepath.Join("..", "..", "docs", "img", "dashboard-devnet.png"), testutil.Desktop)
	}
	b.NoErrors()

	b.Click(`#miners-body tr[data-uid] a.hk`)
	b.WaitTrue(`(document.querySelector("h1") || {}).textContent?.startsWith("Miner ")`)
	if main := b.Text("main"); !strings.Contains(main, ts.net.big) && !strings.Contains(main, ts.net.small) {
		t.Errorf("the miner page names neither miner:\n%s", main)
	}
	b.NoErrors()

	b.Visit(ts.url+"/#/validator", "#rounds-body tr")
	if n := b.Count("#rounds-body tr"); n < ts.net.rounds {
		t.Errorf("%d rounds shown, want at least the validator's %d", n, ts.net.rounds)
	}
	b.NoErrors()
}
