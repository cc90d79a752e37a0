package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/centralauth-go/logout/clock"
)

func ExampleSystem() {
	c := clock.System()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an ended context stops the wait at once
	err := c.Sleep(ctx, time.Hour)
	fmt.Println(err)
	// Output: context canceled
}
