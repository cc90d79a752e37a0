package token

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is matched by the errors NewDecrypter returns for a
// secret or an option it cannot use. The message says what to fix and never
// includes a secret.
var ErrInvalidConfig = errors.New("token: invalid configuration")

// Option configures a Decrypter in NewDecrypter.
type Option func(*config) error

type config struct {
	previous string
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// WithPreviousSecret also reads tokens encrypted with secret, the
// organization's other client secret while CentralAuth rotates it
// (newClientSecret): during a rotation, tokens under the old and the new
// secret both exist. The client secret given to NewDecrypter is tried
// first. Remove the option once the tokens under the old secret have
// expired. Its length must be one NewDecrypter accepts; one equal to the
// client secret changes nothing. Default: none, only the client secret.
func WithPreviousSecret(secret string) Option {
	return func(c *config) error {
		if secret == "" {
			return configError("the previous client secret is empty")
		}
		if !usable(len(secret)) {
			return configError("the previous client secret is %s", unusable)
		}
		c.previous = secret
		return nil
	}
}
