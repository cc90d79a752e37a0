package middleware

import (
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxFormBytes bounds the POSTed form that return_to is read from. The
// confirmation form is a few hundred bytes.
const maxFormBytes = 16 << 10

// param is the query or form parameter that carries return_to.
const param = "return_to"

// returnTo reads return_to from the request, validates it, and returns the
// location to redirect to.
func (h *LogoutHandler) returnTo(r *http.Request) string {
	raw := h.requested(r)
	if raw == "" {
		return h.defaultLoc
	}
	loc, err := h.policy.Check(raw)
	if err != nil {
		h.log(r.Context(), slog.LevelDebug, "logout: return_to rejected, using the default",
			slog.Any("reason", err), slog.Int("length", len(raw)), slog.String("prefix", prefix(raw, 64)))
		return h.defaultLoc
	}
	return loc
}

// requested reads the return_to parameter from a POSTed urlencoded form, else
// from the query string.
func (h *LogoutHandler) requested(r *http.Request) string {
	if r.Method == http.MethodPost && r.Body != nil && r.Body != http.NoBody && isURLEncodedForm(r) {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.log(r.Context(), slog.LevelDebug, "logout: unreadable form body", slog.Any("error", err))
		} else if v := r.PostForm.Get(param); v != "" {
			return v
		}
	}
	return queryValue(r.URL.RawQuery, param)
}

func isURLEncodedForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// queryValue returns the first value of key in a raw query string, as
// url.ParseQuery followed by Get would, without building the whole map:
// most logouts carry no query at all, and the rest one parameter.
func queryValue(rawQuery, key string) string {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // net/url refuses semicolons as separators
		}
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != key {
				continue
			}
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		return uv
	}
	return ""
}

// prefix cuts s for a log line, on a UTF-8 boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// maxTokenBytes bounds a token taken from a Bearer header. CentralAuth's
// tokens are JWEs of a few KiB.
const maxTokenBytes = 8 << 10

// bearerToken returns the token of an "Authorization: Bearer" header, and
// whether there was such a header. The token is "" unless it has the shape
// of a compact JWE or JWT (five or three base64url parts) and fits
// maxTokenBytes: the header is any client's to write.
func bearerToken(r *http.Request) (token string, present bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") {
		return "", false
	}
	token = strings.TrimSpace(auth[7:])
	if len(token) > maxTokenBytes || !isCompactJOSE(token) {
		return "", true
	}
	return token, true
}

// isCompactJOSE reports whether s is made of three or five base64url parts
// separated by dots, the first one not empty: a JWT or a JWE in compact
// form. (A JWE's second part, the encrypted key, is empty with direct
// encryption.)
func isCompactJOSE(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return (dots == 2 || dots == 4) && s[0] != '.'
}
