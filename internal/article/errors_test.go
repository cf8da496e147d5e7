package article

import (
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

func TestStateOf(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    Article
		want string
	}{
		{"OKPublished", Article{Published: now}, StatePublished},
		{"OKScheduled", Article{Published: now.Add(time.Second)}, StateScheduled},
		{"OKDraft", Article{Draft: true, Published: now.Add(time.Hour)}, StateDraft},
		{"OKRemovedWinsOverDraft", Article{Draft: true, Removed: true}, StateRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.State(now); got != tt.want {
				t.Errorf("State = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSlugConflict(t *testing.T) {
	file := func(path string, removed bool) *Article {
		return &Article{Slug: "s", Source: SourceFile, SourcePath: path, Removed: removed}
	}
	api := &Article{Slug: "s", Source: SourceAPI}
	tests := []struct {
		name     string
		old, new *Article
		conflict bool
	}{
		{"OKSameFile", file("a.md", false), file("a.md", false), false},
		{"OKRemovedFileTaken", file("a.md", true), file("b.md", false), false},
		{"OKAPIOverAPI", api, api, false},
		{"ErrOtherFile", file("a.md", false), file("b.md", false), true},
		{"ErrAPIOverFile", file("a.md", true), api, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SlugConflict(tt.old, tt.new)
			if (err != nil) != tt.conflict || (err != nil && !errors.Is(err, store.ErrConflict)) {
				t.Errorf("err = %v, want conflict %v", err, tt.conflict)
			}
		})
	}
}
