package testutil

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault is a misbehaviour injected into the next API requests (logout and
// userinfo), applied before normal processing. In order: wait Delay, wait
// for Block, then drop the connection, or answer with Status, Body or
// OversizedBody. A fault that
// only waits (no Status, Body, OversizedBody or DropConnection) lets the
// request proceed to normal processing afterwards.
type Fault struct {
	// Status is the status to answer with. Defaults to 500 when Body or
	// OversizedBody is set; 0 with neither means no answer from the fault.
	Status int
	// Body is the raw body to answer with. Defaults to CentralAuth's JSON
	// error for Status (4xx and 5xx), or an empty body.
	Body string
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string
	// Delay is how long to wait before answering. The wait ends early,
	// without an answer, when the client goes away.
	Delay time.Duration
	// Block, if not nil, holds the request until it is closed. The wait
	// ends early, without an answer, when the client goes away or on Close.
	Block <-chan struct{}
	// DropConnection closes the connection without any answer.
	DropConnection bool
	// OversizedBody, if positive, is the number of bytes of body to answer
	// with, for testing that a client bounds what it reads.
	OversizedBody int
	// Times is how many consecutive logout requests the fault applies to.
	// Defaults to 1.
	Times int
}

// InjectFault queues f. Queued faults apply to logout requests in the order
// they were injected, each to f.Times requests.
func (ca *CentralAuth) InjectFault(f Fault) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.faults = append(ca.faults, f)
}

// ClearFaults drops every queued fault.
func (ca *CentralAuth) ClearFaults() {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.faults = nil
}

// nextFault takes one use of the fault at the head of the queue. A fault
// whose Times drops to zero or below leaves the queue, so Times 0 means once.
func (ca *CentralAuth) nextFault() (Fault, bool) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if len(ca.faults) == 0 {
		return Fault{}, false
	}
	f := ca.faults[0]
	ca.faults[0].Times--
	if ca.faults[0].Times <= 0 {
		ca.faults = ca.faults[1:]
	}
	return f, true
}

// applyFault applies the next queued fault to the request. It reports
// whether the request is finished (answered, dropped, or its client gone);
// false means normal processing goes on.
func (ca *CentralAuth) applyFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := ca.nextFault()
	if !ok {
		return false
	}
	done := r.Context().Done()
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return true
		}
	}
	if f.Block != nil {
		select {
		case <-f.Block:
		case <-done:
			return true
		}
	}
	if f.DropConnection {
		dropConnection(w)
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		if f.Body == "" && f.OversizedBody <= 0 {
			return false
		}
		status = http.StatusInternalServerError
	}
	switch {
	case f.OversizedBody > 0:
		writeOversized(w, status, f.OversizedBody)
	case f.Body != "":
		if json.Valid([]byte(f.Body)) {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
	case status >= 400:
		writeError(w, status, codeForStatus(status), "injected fault: "+http.StatusText(status))
	default:
		w.WriteHeader(status)
	}
	return true
}

// dropConnection closes the connection under w without writing anything.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// writeOversized answers with n bytes of body, in chunks, stopping when the
// client stops reading and closes the connection.
func writeOversized(w http.ResponseWriter, status, n int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	chunk := []byte(strings.Repeat("x", 32<<10))
	for n > 0 {
		b := chunk[:min(n, len(chunk))]
		if _, err := w.Write(b); err != nil {
			return
		}
		n -= len(b)
	}
}
