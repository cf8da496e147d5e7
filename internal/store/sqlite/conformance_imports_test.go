package sqlite

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestConformanceImportUploads(t *testing.T) {
	storetest.RunImportUploads(t, func(t *testing.T) storetest.ImportUploadStore { return openConformance(t) })
}
