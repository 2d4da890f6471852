package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferry-p2p/ferry/core/api"
)

// TestWebPage drives the daemon's web page in headless Chromium: logged
// in with the key, it lists the sending peer and shows its offer; a click
// on accept starts the transfer, whose progress reaches 100%, and the
// file on disk matches; a file picked in the page is sent to the peer
// chosen. A screenshot of the page mid-transfer is written
// under the test's temp folder.
func TestWebPage(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run does): the web page is not tested in a browser")
	}
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idA, idB := a.id(), b.id()
	dst := t.TempDir()
	port := freePort(t)
	b.startDaemon("--dir", dst, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	key, err := os.ReadFile(filepath.Join(b.home, apiKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	// The real listener's protection, beside TestGuard's cases: no key,
	// a foreign Host header (DNS rebinding), the key.
	for _, c := range []struct {
		name, host, key string
		want            int
	}{
		{"no key", "", "", http.StatusUnauthorized},
		{"foreign Host", "rebind.example:" + strconv.Itoa(port), strings.TrimSpace(string(key)), http.StatusForbidden},
		{"key", "", strings.TrimSpace(string(key)), http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", base+"/api/v1/identity", nil)
		if c.host != "" {
			req.Host = c.host
		}
		if c.key != "" {
			req.Header.Set(api.KeyHeader, c.key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, res.StatusCode, c.want)
		}
	}

	const total = 256 << 20
	src := filepath.Join(t.TempDir(), "movie.bin")
	writeRandom(t, src, total, 21)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	if err := browse(ctx, chromedp.Navigate(base+"/login?key="+strings.TrimSpace(string(key))),
		chromedp.WaitVisible(`#me-id`)); err != nil {
		t.Fatalf("log in to the page: %v", err)
	}
	var shownID string
	for deadline := time.Now().Add(30 * time.Second); shownID == "" && time.Now().Before(deadline); {
		if shownID, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("me-id").textContent`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if shownID != idB {
		t.Errorf("the page shows device ID %q, want %s", shownID, idB)
	}

	send := a.start(nil, "send", src, "--to", idB, "--json")
	if err := browse(ctx,
		chromedp.WaitVisible(`li.offer button.accept`),
		chromedp.WaitVisible(fmt.Sprintf(`li.peer[data-id="%s"]`, idA)),
	); err != nil {
		t.Fatalf("the page did not show the peer and its offer: %v\n%s", err, send.stderr.String())
	}
	if offerText, err := chromedp.Run(ctx, chromedp.Text(`li.offer`)); err != nil || !strings.Contains(offerText, "movie.bin") {
		t.Errorf("the offer reads %q (%v), want it to name movie.bin", offerText, err)
	}
	if err := browse(ctx, chromedp.Click(`li.offer button.accept`)); err != nil {
		t.Fatal(err)
	}

	// Mid-transfer: a row between 0% and 100%, then its screenshot.
	shot := filepath.Join(t.TempDir(), "web-mid-transfer.png")
	midway := false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		js := `(() => { const p = document.querySelector("tr.transfer progress"); return p ? Number(p.value) : -1 })()`
		pct, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
		if err != nil {
			t.Fatal(err)
		}
		if pct > 0 && pct < 100 {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(shot, png, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot of the page mid-transfer (%.1f%%): %s", pct, shot)
			midway = true
			break
		}
		if pct >= 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !midway {
		t.Error("the page never showed the transfer between 0% and 100%")
	}
	if err := browse(ctx, chromedp.WaitVisible(`tr.transfer[data-state="done"]`)); err != nil {
		t.Fatalf("the transfer never showed done: %v", err)
	}
	if percent, err := chromedp.Run(ctx, chromedp.Text(`tr.transfer[data-state="done"] .percent`)); err != nil || percent != "100.0%" {
		t.Errorf("the finished transfer shows %q (%v), want 100.0%%", percent, err)
	}
	if err := send.wait(60 * time.Second); err != nil {
		t.Fatalf("send: %v\n%s", err, send.stderr.String())
	}
	if got, want := treeHashes(t, dst)["movie.bin"], treeHashes(t, filepath.Dir(src))["movie.bin"]; got != want {
		t.Errorf("received %q, want %q", got, want)
	}

	// The other way: a file picked in the browser is uploaded to the
	// daemon, which sends it to the peer chosen in the list.
	dstA := t.TempDir()
	a.start(nil, "receive", "--yes", "--json", "--dir", dstA)
	pick := filepath.Join(t.TempDir(), "picked.txt")
	writeRandom(t, pick, 300_000, 22)
	if err := browse(ctx,
		chromedp.WaitReady(fmt.Sprintf(`#send-to option[value="%s"]`, idA)),
		chromedp.SetValue(`#send-to`, idA),
		chromedp.SetUploadFiles(`#send-files`, []string{pick}),
		chromedp.Click(`#send button[type="submit"]`),
	); err != nil {
		t.Fatalf("send from the page: %v", err)
	}
	waitFile(t, filepath.Join(dstA, "picked.txt"), 60*time.Second)
	if got, want := treeHashes(t, dstA)["picked.txt"], treeHashes(t, filepath.Dir(pick))["picked.txt"]; got != want {
		t.Errorf("the file sent from the page arrived as %q, want %q", got, want)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(`#send-status`))
	if err != nil || !strings.Contains(status, "sending transfer") {
		t.Errorf("the page says %q (%v) after the send", status, err)
	}
	// The uploaded copy goes once the transfer is done.
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(b.home, "uploads", "*", "picked.txt"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the uploaded copy stayed: %v", left)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browse runs the browser actions one after another.
func browse(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	for _, a := range actions {
		if _, err := chromedp.Run(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
