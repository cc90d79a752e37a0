package sessioncheck

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/centralauth-go/logout/remote"
)

// endUser is what CentralAuth records of the request's user. A request
// from a private or loopback peer that is not trusted, with an
// X-Forwarded-For header, most likely came through a proxy: it is logged
// once, since CentralAuth then sees the proxy's address as every user's.
func (c *Check) endUser(r *http.Request) remote.EndUser {
	if peer := peerAddr(r.RemoteAddr); !c.proxyWarned.Load() && (peer.IsPrivate() || peer.IsLoopback()) && !c.trusted(peer) &&
		len(r.Header.Values("X-Forwarded-For")) > 0 && c.proxyWarned.CompareAndSwap(false, true) {
		c.log(r.Context(), slog.LevelWarn, "session check: requests come through a proxy that is not trusted, so CentralAuth sees its address "+
			"as every user's, and its IP hijack protection may refuse their sessions; name the proxy with sessioncheck.WithTrustedProxies",
			slog.String("proxy", peer.String()))
	}
	return remote.EndUser{IP: c.endUserIP(r), UserAgent: r.UserAgent()}
}

// endUserIP is the IP that CentralAuth records for the end user: the
// connection's peer, unless that is a trusted proxy (WithTrustedProxies).
// Then it is the rightmost X-Forwarded-For hop that is not a trusted proxy,
// since each trusted proxy appends the address it was reached from; the
// hops left of that one are the client's to write. A hop may carry a port
// ("ip:port", "[ipv6]:port"), which is dropped. A hop that does not parse
// stops the walk at the last trusted hop. X-Real-IP is never read: a proxy
// that does not set it passes on the client's, and nothing tells the two
// apart.
func (c *Check) endUserIP(r *http.Request) netip.Addr {
	last := peerAddr(r.RemoteAddr)
	if !c.trusted(last) {
		return last
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, ok := parseHop(strings.TrimSpace(parts[j]))
			if !ok {
				return last
			}
			if last = ip; !c.trusted(last) {
				return last
			}
		}
	}
	return last
}

// parseHop reads one X-Forwarded-For hop: an IP address, with or without
// a port.
func parseHop(hop string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(hop); err == nil {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (c *Check) trusted(ip netip.Addr) bool {
	for _, p := range c.cfg.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// peerAddr reads http.Request.RemoteAddr, "ip:port"; the zero address,
// which remote sends as 0.0.0.0, when it does not parse (a request not
// from a network server).
func peerAddr(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if ip, err := netip.ParseAddr(remoteAddr); err == nil {
		return ip.Unmap()
	}
	return netip.Addr{}
}
