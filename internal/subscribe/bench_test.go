package subscribe_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
)

// csvRows makes n subscriber rows.
func csvRows(n int) []byte {
	var b bytes.Buffer
	b.WriteString("email,name,newsletters,tags,status,subscribed_at\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "person%d@example%d.org,Person %d,monthly,wp%d;training,active,2025-06-01T09:00:00Z\n", i, i%100, i, i%7)
	}
	return b.Bytes()
}

// BenchmarkImport100k imports 100,000 rows into a fresh SQLite store.
func BenchmarkImport100k(b *testing.B) {
	data := csvRows(100_000)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, "http://localhost:8080")
		b.StartTimer()
		rep, err := e.svc.Import(context.Background(), bytes.NewReader(data), subscribe.ImportOptions{})
		if err != nil || rep.Added != 100_000 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(100_000/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}
