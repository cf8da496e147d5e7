package postgres

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestConformanceArticles(t *testing.T) {
	open := freshStores(t)
	storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return open(t) })
}
