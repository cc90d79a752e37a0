package session

import (
	"iter"
	"net/http"
	"net/textproto"
	"strings"
)

// cookieValues yields the value of every cookie of that name in r's Cookie
// headers, in the order the browser sent them, without allocating, unlike
// r.Cookies, which parses every cookie of the request. Surrounding double
// quotes are removed, as net/http does.
//
// A request can carry several: a sibling subdomain can set a cookie of the
// same name for the parent domain, or for a longer path, and the browser
// sends it too, often first.
func cookieValues(r *http.Request, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range r.Header["Cookie"] {
			for line != "" {
				var part string
				part, line, _ = strings.Cut(line, ";")
				part = textproto.TrimString(part)
				v, ok := strings.CutPrefix(part, name)
				if !ok || v == "" || v[0] != '=' {
					continue
				}
				v = v[1:]
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				if !yield(v) {
					return
				}
			}
		}
	}
}

// cookieValue is the first of cookieValues.
func cookieValue(r *http.Request, name string) (string, bool) {
	for v := range cookieValues(r, name) {
		return v, true
	}
	return "", false
}

// attributes builds the cookie that Save and Clear share, so that both
// carry the same Name, Path, Domain, Secure, HttpOnly and SameSite: a
// browser removes a cookie only when these match.
func (c *config) attributes() http.Cookie {
	return http.Cookie{
		Name:     c.name,
		Path:     c.path,
		Domain:   c.domain,
		Secure:   !c.insecure,
		HttpOnly: true,
		SameSite: c.sameSite,
	}
}

// clearHeader renders, once, the Set-Cookie value that removes the cookie:
// an empty value, Max-Age=0 and an Expires date in 1970, for browsers that
// only understand Expires.
func (c *config) clearHeader() string {
	ck := c.attributes()
	ck.MaxAge = -1
	ck.Expires = unixEpoch
	return ck.String()
}
