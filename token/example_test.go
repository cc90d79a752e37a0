package token_test

import (
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/token"
)

func Example() {
	// The organization's client secret, from the CentralAuth dashboard.
	// During a rotation, name the other one with WithPreviousSecret.
	const clientSecret = "an-example-client-secret-32bytes"
	d, err := token.NewDecrypter(clientSecret)
	if err != nil {
		panic(err)
	}

	// An access token as CentralAuth issues it: {"alg":"dir","enc":"A256GCM"}.
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: []byte(clientSecret)}, nil)
	if err != nil {
		panic(err)
	}
	jwe, err := enc.Encrypt([]byte(`{"sessionId":"ses_42"}`))
	if err != nil {
		panic(err)
	}
	accessToken, err := jwe.CompactSerialize()
	if err != nil {
		panic(err)
	}

	for _, tok := range []string{accessToken, "a-forged-cookie"} {
		if claims, ok := d.Decrypt(tok); ok {
			fmt.Println("CentralAuth session:", claims.SessionID)
		} else {
			fmt.Println("not ours")
		}
	}
	// Output:
	// CentralAuth session: ses_42
	// not ours
}
