package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-news/herald/internal/media"
)

// MediaFiles is what serving uploads needs of the store.
type MediaFiles interface {
	// MediaBytes is one file of upload hash: variant 0 the original, else
	// the derivative that wide.
	MediaBytes(ctx context.Context, hash string, variant int) (media.File, error)
}

// immutable is the Cache-Control of uploads: their URL names their bytes.
const immutable = "public, max-age=31536000, immutable"

// handleUpload serves an uploaded image or a derivative from the store:
// /media/u/{hash}.{ext} and /media/u/{hash}-{width}.{ext}. The extension
// must be the stored type's, so each file has exactly one URL.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	hash, width, ext, ok := media.ParseName(name)
	if !ok || s.cfg.Media == nil {
		s.fail(w, r, keyErr(http.StatusNotFound, "error.no_image"))
		return
	}
	f, err := s.cfg.Media.MediaBytes(r.Context(), hash, width)
	if err == nil && f.Ext() != ext {
		err = keyErr(http.StatusNotFound, "error.no_image")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Cache-Control", immutable)
	h.Set("ETag", strconv.Quote(hash+"-"+strconv.Itoa(width)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.Data))
}

// mediaStatus maps the media errors for statusOf.
func mediaStatus(err error) int {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, media.ErrUnsupported):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, media.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, media.ErrInUse):
		return http.StatusConflict
	}
	return 0
}
