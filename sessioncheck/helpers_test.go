package sessioncheck_test

import (
	"bytes"
	"net/http"
	"runtime"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// What the app passes to New fits its interfaces.
var (
	_ sessioncheck.Store = (*session.Store)(nil)
	_ sessioncheck.Store = (*session.TokenCookie)(nil)
	_ sessioncheck.Users = (*remote.Client)(nil)
)

var hashKey = bytes.Repeat([]byte("k"), 32)

// cleared reports whether resp removes the session cookie.
func cleared(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-centralauth_session" && c.Value == "" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// discardWriter is a ResponseWriter that keeps nothing, for benchmarks.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header, 4)} }

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
