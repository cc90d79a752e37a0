package demo

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// The pages are server-rendered, plain HTML forms and links: everything
// works with JavaScript off, and the CSP allows no script at all.

// style is shared by the pages.
const style = `<style>
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--accent:#4f46e5;--ok:#047857;--warn:#b45309}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:var(--bg);margin:0;line-height:1.45}
header{background:#fff;border-bottom:1px solid var(--line);padding:.9rem 1.5rem;display:flex;align-items:center;gap:1rem;flex-wrap:wrap}
header h1{font-size:1.25rem;margin:0}
header .tag{font:600 .75rem ui-monospace,monospace;background:#eef2ff;color:var(--accent);padding:.15rem .5rem;border-radius:999px}
header nav{margin-left:auto}
main{max-width:56rem;margin:1.25rem auto;padding:0 1rem;display:grid;gap:1rem}
section{background:#fff;border:1px solid var(--line);border-radius:.75rem;padding:1.1rem 1.3rem}
h2{font-size:1rem;margin:0 0 .6rem}
#status{font-size:1.15rem;margin:0 0 .5rem}
#status[data-state=logged-in]{color:var(--ok)}
#status[data-state=logged-out]{color:var(--muted)}
.notice{background:#fef3c7;color:var(--warn);border-radius:.5rem;padding:.5rem .75rem;margin:.5rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0 1rem}
dt{color:var(--muted)}dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.buttons{display:flex;gap:.6rem;flex-wrap:wrap}
form{margin:0}
button{font:inherit;padding:.5rem 1rem;border-radius:.4rem;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}
ul{margin:.3rem 0;padding-left:1.2rem}li{margin:.25rem 0}
code{font-family:ui-monospace,monospace;font-size:.9em;background:var(--bg);padding:.05rem .3rem;border-radius:.25rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
td.mono{font-family:ui-monospace,monospace}
tr.mine td{background:#eef2ff}
.active{color:var(--ok);font-weight:600}.ended{color:var(--muted)}
footer{color:var(--muted);font-size:.85rem;text-align:center;margin:1rem 0 2rem}
</style>`

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.App}} · centralauth-go/logout example</title>
` + style + `
</head>
<body>
<header>
<h1>{{.App}}</h1>
<span class="tag">chi · {{.Mount}}</span>
<nav>{{if .OtherURL}}<a id="other-app" href="{{.OtherURL}}">Open {{.OtherName}} →</a>{{end}}</nav>
</header>
<main>
<section>
{{- with .Status}}
{{- if .LoggedIn}}
<p id="status" data-state="logged-in">You are logged in{{if .User}} as <strong>{{.User}}</strong>{{end}}.</p>
<dl>
{{- if .CentralAuthSession}}
<dt>CentralAuth session</dt><dd id="centralauth-session">{{.CentralAuthSession}}</dd>
{{- end}}
<dt>App session ID</dt><dd id="app-session">{{.AppSession}}</dd>
<dt>Access token</dt><dd id="token-prefix">{{.TokenPrefix}}</dd>
</dl>
{{- else}}
<p id="status" data-state="logged-out">You are logged out.</p>
{{- end}}
{{- if .Notice}}<p class="notice" id="notice">{{.Notice}}</p>{{end}}
{{- if .Warning}}<p class="notice" id="warning">{{.Warning}}</p>{{end}}
{{- end}}
<p class="muted" id="check-interval">This app asks CentralAuth whether your session still stands at most every {{.CheckInterval}}.
{{- if .SharedEnded}} A "Log out everywhere" in the other app shows here on the next page load: the apps share a list of ended CentralAuth sessions, which this app reads on every request. A session ended any other way shows within {{.CheckInterval}}.
{{- else}} A "Log out everywhere" in the other app shows here within {{.CheckInterval}}.
{{- end}}</p>
<div class="buttons">
{{- if .Status.LoggedIn}}
<form method="post" action="{{.LogoutPath}}"><button type="submit" id="logout">Log out</button></form>
<form method="post" action="{{.EverywherePath}}"><button type="submit" id="logout-everywhere" class="secondary">Log out everywhere</button></form>
{{- else}}
<form method="get" action="{{.LoginPath}}"><button type="submit" id="login">Log in{{if .Demo}} (demo){{end}}</button></form>
{{- end}}
</div>
<p class="muted" id="centralauth-at">CentralAuth: {{.CentralAuthURL}}{{if .Demo}} (embedded, demo){{end}}</p>
<div>
</div>
</section>
<section>
<h2>Try it</h2>
<ul>
<li><a id="confirm-link" href="{{.LogoutPath}}">GET {{.LogoutPath}}</a> asks before logging out; its button POSTs.</li>
<li><a id="evil" href="{{.EvilPath}}">{{.EvilPath}}</a> tries an open redirect; the logout ends here, on <code>/</code>.</li>
<li>"Log out" ends this app's session only. "Log out everywhere" also ends the CentralAuth session{{if .OtherName}}, so {{.OtherName}} logs you out on its {{if .SharedEnded}}next page load{{else}}first page load after its check interval{{end}}{{end}}.</li>
<li>Cookie <code>{{.CookieName}}</code>: HttpOnly, SameSite=Lax, Path={{.CookiePath}}, signed and encrypted.</li>
</ul>
</section>
{{- if .Demo}}
<section id="centralauth">
<h2>Embedded CentralAuth (demo) at <code>{{.CentralAuthURL}}</code></h2>
{{- if .Sessions}}
<table id="sessions">
<thead><tr><th>Session</th><th>Email</th><th>Token</th><th>Created</th><th>State</th></tr></thead>
<tbody>
{{- range .Sessions}}
<tr data-session-id="{{.ID}}" data-active="{{.Active}}"{{if .Mine}} class="mine"{{end}}>
<td class="mono">{{.ID}}</td><td>{{.Email}}</td><td class="mono">{{.TokenPrefix}}</td><td>{{.Created}}</td>
<td>{{if .Active}}<span class="active">active</span>{{else}}<span class="ended">ended {{.Ended}}</span>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- if .MoreSessions}}<p id="more-sessions">The newest {{len .Sessions}} sessions; there are older ones.</p>{{end}}
{{- else}}
<p id="no-sessions">No sessions yet: log in.</p>
{{- end}}
</section>
{{- end}}
</main>
<footer>centralauth-go/logout · examples/chi-app</footer>
</body>
</html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.App}}</title>
` + style + `
</head>
<body>
<header><h1>{{.App}}</h1></header>
<main>
<section>
<h2 id="error-title">{{.Title}}</h2>
{{- if .Detail}}<p>{{.Detail}}</p>{{end}}
<p><a href="/">Back to {{.App}}</a></p>
</section>
</main>
</body>
</html>
`))

// errorPage answers with a small page that says what went wrong.
func (a *app) errorPage(w http.ResponseWriter, status int, title, detail string) {
	a.render(w, status, errorPage, struct{ App, Title, Detail string }{a.cfg.Name, title, detail})
}

// render writes a page with headers that keep it out of caches and
// frames, and allow no script. Forms may go to this origin and, for demo
// login, on to CentralAuth's (form-action also governs the redirects that
// follow a form).
func (a *app) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var body bytes.Buffer
	if err := t.Execute(&body, data); err != nil {
		a.log.Error("render failed", "page", t.Name(), "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+
		a.caOrigin+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}
