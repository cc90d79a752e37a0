package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
)

// Proof 5: no token appears in plain text in Redis (every key and value,
// and the append-only files on disk) or in any log line, whatever path a
// logout takes: delivered at once, queued and delivered, queued and
// refused, or found unreadable in the queue.
func TestNoSecretInRedisOrLogs(t *testing.T) {
	for _, b := range bothKinds {
		t.Run(b.name, func(t *testing.T) {
			c := newCluster(t, b, settings{})
			a := c.newInstance("A")
			var us []user
			for i := range 4 {
				us = append(us, a.login(fmt.Sprint("user", i)))
			}
			// user0 goes through at once; the other three are queued.
			wantLoggedOut(t, a.logout(us[0]))
			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 3})
			for _, u := range us[1:] {
				wantLoggedOut(t, a.logout(u))
			}
			if s := a.stats(); s.Pending != 3 {
				t.Fatalf("Pending %d, want 3", s.Pending)
			}

			secrets := map[string]string{
				"client secret":         clientSecret,
				"Basic credentials":     base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret)),
				"cookie hash key":       string(hashKey),
				"cookie encryption key": string(cookieKey),
				"outbox encryption key": string(outboxKey),
			}
			for i, u := range us {
				secrets[fmt.Sprintf("user%d's access token", i)] = u.ca.AccessToken
				secrets[fmt.Sprintf("user%d's ID token", i)] = u.ca.IDToken
				secrets[fmt.Sprintf("user%d's cookie", i)] = u.cookie
			}

			if c.redis != nil {
				// While the tokens are in the queue.
				dump := c.redis.Dump(t)
				entries := 0
				for k := range dump {
					if strings.HasPrefix(k, "centralauth:outbox:e:") {
						entries++
					}
				}
				if entries != 3 {
					t.Fatalf("%d queued entries in Redis, want 3: the scan would prove nothing", entries)
				}
				assertAbsent(t, "Redis", dumpText(dump), secrets)
			}

			// The first queued logout CentralAuth sees, it refuses
			// (dropped, with a Warn line). With Redis, one entry is
			// corrupted in place, so that its error is logged too, and it
			// is dropped as well.
			wantDelivered, wantDropped := int64(2), int64(1)
			if c.redis != nil {
				rdb := c.redis.Client(t)
				keys := rdb.Keys(t.Context(), "centralauth:outbox:e:*").Val()
				if err := rdb.HSet(t.Context(), keys[0], "tok", "corrupt").Err(); err != nil {
					t.Fatal(err)
				}
				wantDelivered, wantDropped = 1, 2
			}
			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusBadRequest, Body: `{"errorCode":"tokenInvalid","message":"bad"}`})
			a.startWorker()
			testutil.WaitFor(t, 10*time.Second, "the queue to drain", func() bool {
				s := a.stats()
				return s.Pending == 0 && s.Delivered == wantDelivered && s.Dropped == wantDropped
			})
			if c.redis != nil {
				assertAbsent(t, "Redis's files", string(c.redis.DiskData(t)), secrets)
				assertAbsent(t, "Redis", dumpText(c.redis.Dump(t)), secrets)
			}

			logs := c.logs.String()
			wantLines := []string{"queued for retry", "refused a queued logout"}
			if c.redis != nil {
				wantLines = append(wantLines, "cannot be decrypted")
			}
			for _, want := range wantLines {
				if !strings.Contains(logs, want) {
					t.Fatalf("no %q log line: the log scan would prove little\n%s", want, logs)
				}
			}
			assertAbsent(t, "the logs", logs, secrets)
			assertAbsent(t, "go-redis's log", redisLog.String(), secrets)
			var errText strings.Builder
			for _, ev := range a.allEvents() {
				for _, err := range []error{ev.RevokeErr, ev.RemoteErr} {
					for e := err; e != nil; e = errors.Unwrap(e) {
						fmt.Fprintf(&errText, "%v %+v\n", e, e)
					}
				}
			}
			if !strings.Contains(errText.String(), "503") {
				t.Fatalf("no 503 in the events' errors: %s", errText.String())
			}
			assertAbsent(t, "the events' errors", errText.String(), secrets)
		})
	}
}

// assertAbsent fails if any form of any secret is in text. A part that
// several secrets share (the JWE header of every token) is not searched for
// on its own: it identifies none of them.
func assertAbsent(t *testing.T, where, text string, secrets map[string]string) {
	t.Helper()
	owners := map[string]int{}
	for _, s := range secrets {
		for _, form := range secretForms(s) {
			owners[form]++
		}
	}
	for name, s := range secrets {
		for _, form := range secretForms(s) {
			if (owners[form] == 1 || form == s) && strings.Contains(text, form) {
				t.Errorf("%s is in %s", name, where)
				break
			}
		}
	}
}

func dumpText(dump map[string]string) string {
	var b strings.Builder
	for k, v := range dump {
		b.WriteString(k + " " + v + "\n")
	}
	return b.String()
}
