package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/herald-news/herald/internal/store"
)

// Store is what the media service needs of the store.
type Store interface {
	// PutMedia stores it (with the Data of every file) unless an upload
	// with its hash exists; it returns the stored item without Data, and
	// whether this call stored it.
	PutMedia(ctx context.Context, it Item) (Item, bool, error)
	// Media describes one upload (no Data); store.ErrNotFound if none.
	Media(ctx context.Context, hash string) (Item, error)
	// ListMedia describes every upload, newest first.
	ListMedia(ctx context.Context) ([]Item, error)
	// MediaUsage lists the articles whose image or body holds Ref(hash).
	MediaUsage(ctx context.Context, hash string) ([]Use, error)
	// DeleteMedia deletes an upload and its files in one transaction,
	// unless an article uses it (ErrInUse); store.ErrNotFound if none.
	DeleteMedia(ctx context.Context, hash string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// DefaultLimit is admin.max_upload's default.
const DefaultLimit = 10 << 20

// Service keeps uploads: processing, deduplication by content hash,
// deletion guarded by use, and an audit entry for every change.
type Service struct {
	Store Store
	Limit int64            // largest file accepted, in bytes (DefaultLimit when 0)
	Now   func() time.Time // time.Now when nil
}

// Listed is an upload with the articles that use it.
type Listed struct {
	Item
	UsedBy []Use
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) limit() int64 {
	if s.Limit <= 0 {
		return DefaultLimit
	}
	return s.Limit
}

// Upload reads an image from r (at most Limit bytes), processes it and
// stores it. An image already stored (the same bytes once stripped) is
// not stored again: created is false and the item is the stored one.
// Errors wrap ErrTooLarge, ErrUnsupported or ErrInvalid, naming the file.
func (s *Service) Upload(ctx context.Context, name string, r io.Reader, by Actor) (it Item, created bool, err error) {
	name = cleanName(name)
	limit := s.limit()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return Item{}, false, fmt.Errorf("media: read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return Item{}, false, fmt.Errorf("%s: %w of %s", name, ErrTooLarge, FormatSize(limit))
	}
	p, err := prepare(data)
	if err != nil {
		return Item{}, false, fmt.Errorf("%s: %w", name, err)
	}
	if old, err := s.Store.Media(ctx, p.hash); err == nil {
		return old, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Item{}, false, err
	}
	it, err = p.finish(scaler)
	if err != nil {
		return Item{}, false, err
	}
	it.Name, it.CreatedAt, it.CreatedBy = name, s.now().UTC(), by.Email
	it, created, err = s.Store.PutMedia(ctx, it)
	if err != nil || !created {
		return it, false, err
	}
	if err := s.audit(ctx, by, "media.upload", it.Hash+" "+it.Name); err != nil {
		return it, true, err
	}
	return it, true, nil
}

// List is every upload, newest first, with the articles using each.
func (s *Service) List(ctx context.Context) ([]Listed, error) {
	items, err := s.Store.ListMedia(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(items))
	for i, it := range items {
		uses, err := s.Store.MediaUsage(ctx, it.Hash)
		if err != nil {
			return nil, err
		}
		out[i] = Listed{Item: it, UsedBy: uses}
	}
	return out, nil
}

// Delete removes an upload no article uses; one in use is refused with
// ErrInUse, naming the articles.
func (s *Service) Delete(ctx context.Context, hash string, by Actor) error {
	if !validHash(hash) {
		return fmt.Errorf("media %q: %w", hash, store.ErrNotFound)
	}
	if err := s.Store.DeleteMedia(ctx, hash); err != nil {
		if errors.Is(err, ErrInUse) {
			uses, uerr := s.Store.MediaUsage(ctx, hash)
			if uerr == nil && len(uses) > 0 {
				slugs := make([]string, len(uses))
				for i, u := range uses {
					slugs[i] = u.Slug
				}
				return fmt.Errorf("%w by %s: change those articles first", ErrInUse, strings.Join(slugs, ", "))
			}
		}
		return err
	}
	return s.audit(ctx, by, "media.delete", hash)
}

func (s *Service) audit(ctx context.Context, by Actor, action, detail string) error {
	_, err := s.Store.AddAudit(ctx, store.AuditEntry{At: s.now().UTC(), UserID: by.UserID, Email: by.Email, Action: action, Detail: detail, IP: by.IP})
	return err
}

// maxName bounds a stored file name, in bytes.
const maxName = 200

// cleanName keeps the base name of what a client called the file,
// printable and bounded, for lists and messages.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, name)
	if len(name) > maxName {
		cut := maxName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "" || name == "." || name == "/" {
		return "upload"
	}
	return name
}
