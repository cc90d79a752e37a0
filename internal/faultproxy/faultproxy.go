// Package faultproxy is a TCP proxy on loopback for tests, which can stop
// moving bytes while every connection stays open: a partition that neither
// end's TCP notices, unlike a killed server, whose connections are reset.
package faultproxy

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards every connection made to Addr to its target.
type Proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	flowing chan struct{} // closed while bytes move; open while stalled
	closed  chan struct{}
	conns   []net.Conn
	wg      sync.WaitGroup
}

// Start listens on 127.0.0.1 and forwards to target until the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	p := &Proxy{target: target, ln: ln, flowing: make(chan struct{}), closed: make(chan struct{})}
	close(p.flowing)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stall stops moving bytes, both ways, on every connection, open or new.
// Connections are still accepted and stay open; what each end sends waits
// in the proxy and the kernel's buffers.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
		p.flowing = make(chan struct{})
	default: // stalled already
	}
}

// Resume moves bytes again, what waited first.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
	default:
		close(p.flowing)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.wg.Add(2)
		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

// track remembers conns to close them at the end, and reports false, having
// closed them, once the proxy is closed.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	default:
		p.conns = append(p.conns, conns...)
		return true
	}
}

// pipe copies src to dst, one read at a time, each written only while the
// proxy is not stalled. When either side ends, both are closed, as a
// proxy's would be.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the proxy is stalled, and reports false once it is
// closed.
func (p *Proxy) wait() bool {
	p.mu.Lock()
	flowing := p.flowing
	p.mu.Unlock()
	select {
	case <-flowing:
		return true
	case <-p.closed:
		return false
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	close(p.closed)
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}
