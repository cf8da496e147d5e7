package postgres_test

import (
	"testing"

	"github.com/herald-news/herald/internal/store/postgres"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"OKNoPassword", "postgres://herald@db/herald?sslmode=disable", "postgres://herald@db/herald?sslmode=disable"},
		{"OKUserPassword", "postgresql://herald:hun%40ter2@db:5432/herald?pool_max_conns=8", "postgresql://herald@db:5432/herald?pool_max_conns=8"},
		{"OKQueryPassword", "postgres://db/herald?password=hunter2&sslmode=require", "postgres://db/herald?sslmode=require"},
		{"OKKeywords", "host=db password='hun ter\\'2' dbname=herald", "host=db dbname=herald"},
		{"OKUnreadableURL", "postgres://herald:hunter2@db:port/herald", "(unreadable postgres URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := postgres.Redact(tt.dsn); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
		})
	}
}
