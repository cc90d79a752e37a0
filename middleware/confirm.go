package middleware

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// confirmPage asks before logging out: a plain HTML form, so that it works
// without JavaScript, which POSTs back to the same URL. return_to travels
// as given (html/template escapes it); the POST validates it.
var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Log out</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem}</style>
</head>
<body>
<h1>Log out?</h1>
<p>{{if .SessionWide}}You will be logged out of every app that shares this sign-in.{{else}}You will be logged out of this app.{{end}}</p>
<form method="post" action="">
{{- if .ReturnTo}}
<input type="hidden" name="{{.Param}}" value="{{.ReturnTo}}">
{{- end}}
<button type="submit">{{if .SessionWide}}Log out everywhere{{else}}Log out{{end}}</button>
</form>
</body>
</html>
`))

// confirmHeaders keep the page out of caches and frames: a framed logout
// button is a clickjacking target.
var confirmHeaders = map[string]string{
	"Content-Type":            "text/html; charset=utf-8",
	"Cache-Control":           "no-store",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":         "DENY",
	"X-Content-Type-Options":  "nosniff",
	// same-origin, not no-referrer: with no-referrer the page's own form
	// POSTs "Origin: null", which the cross-origin check refuses wherever
	// the browser sends no Sec-Fetch-Site (plain http other than loopback,
	// older browsers).
	"Referrer-Policy": "same-origin",
}

func (h *LogoutHandler) confirm(w http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	err := confirmPage.Execute(&body, struct {
		Param, ReturnTo string
		SessionWide     bool
	}{param, queryValue(r.URL.RawQuery, param), h.cfg.sessionWide})
	if err != nil { // only a broken template can fail, and tests render it
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	for k, v := range confirmHeaders {
		hdr.Set(k, v)
	}
	hdr.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}
