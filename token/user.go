package token

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/centralauth-go/logout/remote"
)

var errUser = errors.New("token: not a user object of the documented shape")

// parseUser reads CentralAuth's user object by the rules remote.Client's
// UserInfo follows for the same JSON (TestUser holds the two together): an
// id, RFC 3339 dates, created and updated required, null for "none".
func parseUser(b []byte) (remote.User, error) {
	var j struct {
		ID              string  `json:"id"`
		Email           string  `json:"email"`
		Gravatar        string  `json:"gravatar"`
		Verified        bool    `json:"verified"`
		Blocked         bool    `json:"blocked"`
		OrganizationID  *string `json:"organizationId"`
		Created         string  `json:"created"`
		Updated         string  `json:"updated"`
		LastLogin       *string `json:"lastLogin"`
		AffirmationDate *string `json:"affirmationDate"`
	}
	if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
		return remote.User{}, errUser
	}
	u := remote.User{ID: j.ID, Email: j.Email, Gravatar: j.Gravatar, Verified: j.Verified, Blocked: j.Blocked}
	if j.OrganizationID != nil {
		u.OrganizationID = *j.OrganizationID
	}
	for _, d := range []struct {
		dst      *time.Time
		src      *string
		required bool
	}{
		{&u.Created, &j.Created, true},
		{&u.Updated, &j.Updated, true},
		{&u.LastLogin, j.LastLogin, false},
		{&u.AffirmationDate, j.AffirmationDate, false},
	} {
		if d.src == nil || (*d.src == "" && !d.required) {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *d.src)
		if err != nil {
			return remote.User{}, errUser
		}
		*d.dst = t
	}
	return u, nil
}
