package sqlite_test

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestSubscribers(t *testing.T) {
	storetest.RunSubscribers(t, func(t *testing.T) storetest.SubscriberStore { return open(t) })
}
