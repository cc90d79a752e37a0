package session_test

import (
	"testing"

	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/session/revocationtest"
)

func TestMemoryRevocationsConformance(t *testing.T) {
	err := revocationtest.Run(func() (session.RevocationList, error) { return session.NewMemoryRevocations(1000) })
	if err != nil {
		t.Fatal(err)
	}
}
