package session

import (
	"testing"
	"time"
)

// FuzzDecodePayload checks the strict parser under the signature: it never
// panics, and whatever it accepts encodes back to the same bytes, so no two
// payloads mean the same session.
func FuzzDecodePayload(f *testing.F) {
	f.Add(appendPayload(nil, &Session{ID: "id", AccessToken: "at", IDToken: "it", Expires: time.Unix(1900000000, 0)}, time.Unix(1800000000, 0)))
	f.Add(appendPayload(nil, &Session{}, time.Unix(1, 0)))
	f.Add([]byte{formatV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayload(b)
		if err != nil {
			return
		}
		again := appendPayload(nil, &p.session, time.Unix(p.issuedAt, 0))
		if string(again) != string(b) {
			t.Fatalf("decode(%x) re-encodes as %x", b, again)
		}
	})
}
