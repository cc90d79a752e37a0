package testutil_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/centralauth-go/logout/internal/testutil"
)

func ExampleCentralAuth() {
	fake, err := testutil.NewCentralAuth("my-app", "my-secret")
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	s := fake.IssueSession("ada@example.com")

	// The same request as CentralAuth's curl example.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost,
		fake.URL()+"/api/v1/logout", strings.NewReader(s.AccessToken))
	req.SetBasicAuth("my-app", "my-secret")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.Status)
	fmt.Println("ID token still active:", fake.Active(s.IDToken))
	fmt.Println("calls:", len(fake.Calls()))
	// Output:
	// 200 OK
	// ID token still active: false
	// calls: 1
}
