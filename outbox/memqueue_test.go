package outbox_test

import (
	"testing"

	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/outbox/queuetest"
)

func TestMemoryQueueConformance(t *testing.T) {
	err := queuetest.Run(func(limit int) (outbox.Queue, error) { return outbox.NewMemoryQueue(limit) })
	if err != nil {
		t.Fatal(err)
	}
}
