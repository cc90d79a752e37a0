package demo

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// screenshotPath is the README's picture of the example.
var screenshotPath = filepath.Join("..", "..", "..", "docs", "example-app.png")

// TestScreenshot takes the README's screenshot with the browser tests'
// Chromium: App A logged in, with one ended and one active CentralAuth
// session in the demo's list. With UPDATE_SCREENSHOT=1 it writes it to
// docs/example-app.png; otherwise it checks that the committed picture is
// there and has the size the page renders at.
func TestScreenshot(t *testing.T) {
	d := startDemo(t)
	tab := newBrowser(t, map[string]any{"hide-scrollbars": true}) // a picture, not a window

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	click(t, tab, "#logout-everywhere") // an ended session for the list
	waitState(t, tab, "logged-out")
	demoLogin(t, tab, d.a, true) // ended sessions do not autologin
	open(t, tab, d.b+"/")
	demoLogin(t, tab, d.b, false)
	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-in")

	do(t, tab, "set the viewport", chromedp.EmulateViewport(960, 700))
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	got := pngSize(t, shot)
	if got.Dx() != 960 || got.Dy() < 500 {
		t.Fatalf("screenshot is %v, want 960 pixels wide and the whole page", got)
	}

	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(screenshotPath, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%v)", screenshotPath, got)
		return
	}
	committed, err := os.ReadFile(screenshotPath)
	if err != nil {
		t.Fatalf("the README's screenshot is missing (make it with UPDATE_SCREENSHOT=1 go test -run TestScreenshot ./examples/chi-app/demo): %v", err)
	}
	if want := pngSize(t, committed); want.Dx() != got.Dx() {
		t.Errorf("%s is %v wide, the page renders %v wide: update it with UPDATE_SCREENSHOT=1", screenshotPath, want.Dx(), got.Dx())
	}
}

func pngSize(t *testing.T, b []byte) image.Rectangle {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return image.Rect(0, 0, cfg.Width, cfg.Height)
}
