package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium ($DROVER_CHROMIUM first).
func chromiumPath() string {
	if p := os.Getenv("DROVER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDashboardInBrowser drives the dashboard of a `drover dev` cluster
// in headless Chromium while load flows and a worker dies: each page must
// show what the JSON API says, the endpoint's chart must move, the dead
// worker must turn lost, and the page must log no console error.
func TestDashboardInBrowser(t *testing.T) {
	skipShort(t)
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("SKIP: no chromium on PATH (make test installs it: apt-get install --no-install-recommends chromium); the dashboard is NOT tested")
	}
	d := startDev(t, "--worker-ttl", "4s")
	addr := d.addrs[0]

	// Load through the demo for the whole test.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		d.sh(loadCtx, "bin/drover loadgen --endpoint demo --rate 20 --duration 60s")
	}()
	t.Cleanup(func() { stopLoad(); loadWG.Wait() })

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	var consoleErrs []string
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage: %s", what, err, tailString(html, 3000))
		}
	}
	run("start the browser")
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				mu.Lock()
				consoleErrs = append(consoleErrs, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	// waitJS polls a JS expression until it is true (30 s).
	waitJS := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v (waiting for %s)\npage: %s", what, err, expr, tailString(html, 3000))
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Log in: / redirects to /ui/, which asks for the token.
	run("open the dashboard", chromedp.Navigate("http://"+addr+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/ui/") {
		t.Errorf("/ led to %s, want /ui/", loc)
	}
	run("log in with a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login-btn")))
	waitJS("a wrong token is refused", `document.getElementById("login-error").textContent.includes("invalid")`)
	run("log in", chromedp.SendKeys(chromedp.CSS("#token"), d.env[adminTokenEnv]), chromedp.Click(chromedp.CSS("#login-btn")))
	waitJS("first poll", `Number(document.getElementById("status-line").dataset.polls) >= 1`)

	// Cluster: every node, with the leader the API names.
	var cl struct{ Leader string }
	out, err := d.sh(context.Background(), "curl -sf http://"+addr+"/v1/cluster")
	if err != nil || json.Unmarshal([]byte(out), &cl) != nil || cl.Leader == "" {
		t.Fatalf("GET /v1/cluster: %v %s", err, out)
	}
	waitJS("three nodes", `document.querySelectorAll("#nodes tbody tr[data-state]").length === 3`)
	waitJS("the leader row", fmt.Sprintf(`document.querySelector('#nodes tr[data-node=%q]')?.dataset.state === "leader"`, cl.Leader))
	if s := text("#cluster-summary"); !strings.Contains(s, "leader "+cl.Leader) {
		t.Errorf("cluster summary %q does not name leader %s", s, cl.Leader)
	}
	waitJS("raft peers", `document.querySelectorAll("#peers tbody tr").length === 3`)
	waitJS("gossip members", `document.querySelectorAll("#members tbody tr").length === 3`)

	// Endpoints: the demo with its 3 ready workers; the chart moves and shows the load.
	run("endpoints page", chromedp.Navigate("http://"+addr+"/ui/#endpoints"))
	waitJS("demo endpoint", `document.querySelector('[data-endpoint="demo"] [data-fig="ready"]')?.textContent.startsWith("3 ")`)
	p0, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.querySelector('[data-endpoint="demo"] svg.chart').dataset.points)`))
	if err != nil {
		t.Fatalf("chart points: %v", err)
	}
	waitJS("the chart moves", fmt.Sprintf(`Number(document.querySelector('[data-endpoint="demo"] svg.chart').dataset.points) > %d`, p0))
	waitJS("demand shows the load", `parseFloat(document.querySelector('[data-endpoint="demo"] [data-fig="demand"]').textContent.replace(/,/g, "")) > 0`)

	// Workers: the same ids the API lists, all ready; then one dies.
	var wl struct {
		Workers []struct {
			ID    uint64 `json:"id"`
			State string `json:"state"`
		} `json:"workers"`
	}
	out, err = d.sh(context.Background(), `curl -sf -H "Authorization: Bearer $DROVER_ADMIN_TOKEN" http://`+addr+`/v1/workers`)
	if err != nil || json.Unmarshal([]byte(out), &wl) != nil || len(wl.Workers) != 3 {
		t.Fatalf("GET /v1/workers: %v %s", err, out)
	}
	run("workers page", chromedp.Navigate("http://"+addr+"/ui/#workers"))
	for _, w := range wl.Workers {
		waitJS("worker row", fmt.Sprintf(`document.querySelector('#workers tr[data-worker="%d"]')?.dataset.state === %q`, w.ID, w.State))
	}
	victim := wl.Workers[0].ID
	killDemoWorker(t, d, victim)
	waitJS("the dead worker turns lost", fmt.Sprintf(`document.querySelector('#workers tr[data-worker="%d"]')?.dataset.state === "lost"`, victim))
	run("filter", chromedp.SendKeys(chromedp.CSS("#worker-filter"), "lost"))
	waitJS("the filter keeps only the lost worker", `document.querySelectorAll("#workers tbody tr").length === 1`)

	// Decisions: the leader's (empty for a static group) answer.
	run("decisions page", chromedp.Navigate("http://"+addr+"/ui/#decisions"))
	waitJS("decisions summary", fmt.Sprintf(`document.getElementById("decisions-summary").textContent.includes(%q)`, "leader "+cl.Leader))

	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrs {
		if strings.Contains(e, "invalid admin token") || strings.Contains(e, "401") {
			continue // the deliberate wrong-token login
		}
		t.Errorf("browser console: %s", e)
	}
}

// killDemoWorker sends SIGKILL to the `drover worker` child of drover dev
// that reports as CONTAINER_ID=id.
func killDemoWorker(t *testing.T, d *devCluster, id uint64) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		stat, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(d.cmd.Process.Pid) {
			continue
		}
		env, _ := os.ReadFile(p + "/environ")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.Contains(string(cmdline), "\x00worker\x00") && strings.Contains("\x00"+string(env), fmt.Sprintf("\x00CONTAINER_ID=%d\x00", id)) {
			pid, _ := strconv.Atoi(filepath.Base(p))
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill worker %d (pid %d): %v", id, pid, err)
			}
			return
		}
	}
	t.Fatalf("no drover worker child of drover dev with CONTAINER_ID=%d", id)
}
