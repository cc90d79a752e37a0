package returnto_test

import (
	"fmt"

	"github.com/centralauth-go/logout/returnto"
)

func ExamplePolicy_Check() {
	policy, err := returnto.NewPolicy("app.example.com", "*.example.org")
	if err != nil {
		panic(err) // a bad pattern is a start-up error
	}
	for _, raw := range []string{
		"/account",
		"https://app.example.com/home",
		"https://shop.example.org/",
		"https://evil.example/",
		"//evil.example",
		"/\t/evil.example",
	} {
		if loc, err := policy.Check(raw); err != nil {
			fmt.Printf("%q: %v\n", raw, err)
		} else {
			fmt.Printf("%q: redirect to %s\n", raw, loc)
		}
	}
	// Output:
	// "/account": redirect to /account
	// "https://app.example.com/home": redirect to https://app.example.com/home
	// "https://shop.example.org/": redirect to https://shop.example.org/
	// "https://evil.example/": returnto: unsafe return_to: host not allowed
	// "//evil.example": returnto: unsafe return_to: protocol-relative
	// "/\t/evil.example": returnto: unsafe return_to: control character
}
