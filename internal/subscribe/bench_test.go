package subscribe_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/templates"
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

type discardMailer struct{}

func (discardMailer) Send(context.Context, *subscribe.Mail) error { return nil }

// BenchmarkSubscribeAnswer times Subscribe up to its answer as serve runs
// it (MailAfterAnswer), two new addresses then two requests for one
// already active, over and over, so both see the same machine load and
// the same predecessors; it reports each and the remaining gap (new minus
// known), which is what the answer's timing can tell. The work after the
// answer is waited for between requests.
func BenchmarkSubscribeAnswer(b *testing.B) {
	e := newEnv(b, "https://news.example.org")
	svc, err := subscribe.New(subscribe.Config{
		BaseURL: "https://news.example.org", SiteTitle: "Herald News",
		Newsletters:    []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}},
		ResendInterval: time.Hour, Templates: templates.Embedded(),
		Tokens: subscribe.NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")}),
		Store:  e.st, Mailer: discardMailer{}, MailAfterAnswer: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := svc.Add(ctx, "known@example.org", "", nil, nil, true); err != nil {
		b.Fatal(err)
	}
	var spent [2]time.Duration
	i := 0
	for b.Loop() {
		i++
		addr := "known@example.org"
		if i%4 < 2 {
			addr = fmt.Sprintf("new%d@example.org", i)
		}
		start := time.Now()
		if err := svc.Subscribe(ctx, subscribe.Request{Email: addr, Name: "Bench"}); err != nil {
			b.Fatal(err)
		}
		spent[min(i%4/2, 1)] += time.Since(start)
		svc.Wait()
	}
	half := float64(max(i/2, 1))
	newNS, knownNS := float64(spent[0].Nanoseconds())/half, float64(spent[1].Nanoseconds())/half
	b.ReportMetric(newNS, "new-ns/answer")
	b.ReportMetric(knownNS, "known-ns/answer")
	b.ReportMetric(newNS-knownNS, "gap-ns")
}
