package postgres

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestConformanceArticles(t *testing.T) {
	open := freshStores(t)
	storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return open(t) })
}

func TestConformanceFeeds(t *testing.T) {
	open := freshStores(t)
	storetest.RunFeeds(t, func(t *testing.T) storetest.FeedStore { return open(t) })
}

func TestConformanceSecrets(t *testing.T) {
	open := freshStores(t)
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretStore { return open(t) })
}
