// Package observability_test holds the code of docs/observability.md, which
// wires the library's four hooks to metrics, and the test that drives every
// one of them. It has no code of its own: the library needs no metrics
// dependency, and an app copies what it needs.
package observability_test

import (
	"expvar"
	"net/http"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/sessioncheck"
)

// countOutcomes returns the four hooks, each counting outcomes in counts by
// component and outcome. docs/observability.md shows its body, and
// middleware's TestDocSnippetsAreCompiled keeps the two equal.
func countOutcomes(counts *expvar.Map) (middleware.Option, sessioncheck.Option, outbox.Option, redisstore.RevocationsOption) {
	// expvar serves counts at /debug/vars once published:
	// expvar.Publish("centralauth", counts). With Prometheus, count is a
	// CounterVec labelled component and outcome:
	// vec.WithLabelValues(component, outcome).Inc(); with OpenTelemetry,
	// an Int64Counter's Add(ctx, 1, metric.WithAttributes(...)).
	count := func(component, outcome string) { counts.Add(component+"."+outcome, 1) }

	onLogout := middleware.WithOnLogout(func(_ *http.Request, ev middleware.Event) {
		count("logout", string(ev.Remote)) // none, delivered, queued or failed
	})
	onCheck := sessioncheck.WithOnCheck(func(_ *http.Request, ev sessioncheck.Event) {
		count("sessioncheck", string(ev.Outcome)) // fresh, cached, ended, stale, ...
		// The seconds requests waited for CentralAuth, summed; with
		// Prometheus, a histogram's Observe(ev.Latency.Seconds()).
		counts.AddFloat("sessioncheck.wait_seconds", ev.Latency.Seconds())
	})
	onDelivery := outbox.WithOnDelivery(func(d outbox.Delivery) {
		count("outbox", string(d.Outcome)) // delivered, retried or dropped
		counts.AddFloat("outbox.send_seconds", d.Latency.Seconds())
	})
	onCacheHealth := redisstore.WithOnCacheHealth(func(h redisstore.CacheHealth) {
		// Once each time the copy loads, and once per failed attempt to
		// load it again while Revoked asks Redis instead.
		if h.Healthy {
			count("redis_cache", "healthy")
		} else {
			count("redis_cache", "unhealthy")
		}
	})
	return onLogout, onCheck, onDelivery, onCacheHealth
}
