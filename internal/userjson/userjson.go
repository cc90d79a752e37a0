// Package userjson reads CentralAuth's user object, the one rule for
// remote.Client's userinfo answers and for the user in an ID token
// (package token). Package remote cannot hold it for both, as token
// would then need an exported parser.
package userjson

import (
	"encoding/json"
	"time"
)

// User has remote.User's fields, in its order, so that each package
// converts it to remote.User, which compiles only while the two agree.
type User struct {
	ID              string
	Email           string
	Gravatar        string
	Verified        bool
	Blocked         bool
	OrganizationID  string
	Created         time.Time
	Updated         time.Time
	LastLogin       time.Time
	AffirmationDate time.Time
}

// Error says why b is not a user object. It never holds any of b.
type Error string

func (e Error) Error() string { return string(e) }

// Parse reads b strictly: a JSON object with a non-empty id, created and
// updated as RFC 3339 dates, and lastLogin, affirmationDate and
// organizationId null or absent for "none".
func Parse(b []byte) (User, error) {
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
	if err := json.Unmarshal(b, &j); err != nil {
		return User{}, Error("not a JSON object of the documented shape")
	}
	if j.ID == "" {
		return User{}, Error("no user id")
	}
	u := User{ID: j.ID, Email: j.Email, Gravatar: j.Gravatar, Verified: j.Verified, Blocked: j.Blocked}
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
			return User{}, Error("a date is not in RFC 3339")
		}
		*d.dst = t
	}
	return u, nil
}
