package postgres

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestConformanceImportUploads(t *testing.T) {
	open := freshStores(t)
	storetest.RunImportUploads(t, func(t *testing.T) storetest.ImportUploadStore { return open(t) })
}
