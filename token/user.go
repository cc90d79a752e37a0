package token

import (
	"github.com/centralauth-go/logout/internal/userjson"
	"github.com/centralauth-go/logout/remote"
)

// parseUser reads CentralAuth's user object by the rules remote.Client's
// UserInfo follows for the same JSON (package userjson; TestUser holds the
// two together).
func parseUser(b []byte) (remote.User, error) {
	u, err := userjson.Parse(b)
	return remote.User(u), err
}
