package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/remote"
)

func ExampleClient_Logout() {
	// A fake CentralAuth stands in for https://centralauth.com here.
	fake, err := centralauthtest.NewServer("my-client-id", "my-client-secret")
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	session := fake.SignIn("ada@example.com")

	client, err := remote.NewClient("my-client-id", "my-client-secret",
		remote.WithBaseURL(fake.URL()))
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = client.Logout(ctx, session.AccessToken)
	fmt.Println("logout error:", err)
	// Either token of the session is now dead, on every application.
	fmt.Println("ID token active:", fake.Active(session.IDToken))
	// Output:
	// logout error: <nil>
	// ID token active: false
}

func ExampleError() {
	fake, err := centralauthtest.NewServer("my-client-id", "my-client-secret")
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	client, err := remote.NewClient("my-client-id", "my-client-secret",
		remote.WithBaseURL(fake.URL()))
	if err != nil {
		panic(err)
	}

	err = client.Logout(context.Background(), "not-a-token")
	if e, ok := errors.AsType[*remote.Error](err); ok {
		fmt.Println(e.StatusCode, e.Code, "retryable:", remote.IsRetryable(err))
	}
	fmt.Println(err)
	// Output:
	// 400 tokenInvalid retryable: false
	// remote: logout failed: 400 Bad Request (tokenInvalid): the token is not valid
}

func ExampleNewClient() {
	// Credentials from the CentralAuth dashboard; options as needed.
	client, err := remote.NewClient("my-client-id", "my-client-secret",
		remote.WithBaseURL("https://auth.example.com"), // an organization's custom domain
		remote.WithRetries(3),
		remote.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}),
	)
	fmt.Println(client, err)

	_, err = remote.NewClient("my-client-id", "")
	fmt.Println(errors.Is(err, remote.ErrInvalidConfig), err)
	// Output:
	// remote.Client(https://auth.example.com/api/v1/logout) <nil>
	// true remote: invalid configuration: client secret is empty
}
