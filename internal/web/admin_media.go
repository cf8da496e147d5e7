package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/herald-news/herald/internal/media"
)

// /admin/media: the uploads with thumbnails and the articles using each,
// upload and delete, through the media service the API uses (which writes
// the audit log) (docs/ARCHITECTURE.md, "Admin editor").

type mediaRow struct {
	media.Listed
	URL, Thumb string
}

type mediaData struct {
	Items []mediaRow
	Limit string
}

func (a *adminUI) mediaOn() error {
	if a.cfg.Media == nil {
		return Errorf(http.StatusNotFound, "Uploads are not available here.")
	}
	return nil
}

// mediaPage: GET /admin/media.
func (a *adminUI) mediaPage(w http.ResponseWriter, r *http.Request) error {
	if err := a.mediaOn(); err != nil {
		return err
	}
	return a.showMedia(w, r, http.StatusOK, nil)
}

func (a *adminUI) showMedia(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) error {
	list, err := a.cfg.Media.List(r.Context())
	if err != nil {
		return err
	}
	d := mediaData{Limit: media.FormatSize(a.uploadLimit())}
	for _, l := range list {
		// The smallest derivative is the thumbnail; a small original is its own.
		d.Items = append(d.Items, mediaRow{Listed: l, URL: l.URL(), Thumb: l.DerivativeURL(600)})
	}
	a.render(w, r, status, "media", adminView{Title: "Media", Data: d, Errors: errs})
	return nil
}

// uploadMediaForm: POST /admin/media, the file input "file".
func (a *adminUI) uploadMediaForm(w http.ResponseWriter, r *http.Request) error {
	if err := a.mediaOn(); err != nil {
		return err
	}
	if err := editorForm(r); err != nil {
		return err
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 || r.MultipartForm.File["file"][0].Filename == "" {
		return a.showMedia(w, r, http.StatusUnprocessableEntity, []fieldError{{"file", "Choose an image to upload."}})
	}
	fh := r.MultipartForm.File["file"][0]
	file, err := fh.Open()
	if err != nil {
		return fmt.Errorf("admin: open upload: %w", err)
	}
	defer file.Close()
	it, created, err := a.cfg.Media.Upload(r.Context(), fh.Filename, file, a.mediaActor(r))
	if err != nil {
		if mediaStatus(err) == 0 {
			a.s.log.ErrorContext(r.Context(), "admin: upload failed", slog.Any("err", err))
			return err
		}
		return a.showMedia(w, r, http.StatusUnprocessableEntity, []fieldError{{"file", sentence(err.Error())}})
	}
	msg := fmt.Sprintf("%s uploaded: %s", it.Name, it.URL())
	if !created {
		msg = fmt.Sprintf("%s was uploaded before: %s", it.Name, it.URL())
	}
	a.redirect(w, r, "/admin/media", msg)
	return nil
}

// deleteMediaForm: POST /admin/media/{hash}/delete (the confirming
// button is inside a <details> on the list).
func (a *adminUI) deleteMediaForm(w http.ResponseWriter, r *http.Request) error {
	if err := a.mediaOn(); err != nil {
		return err
	}
	hash := r.PathValue("hash")
	if err := a.cfg.Media.Delete(r.Context(), hash, a.mediaActor(r)); err != nil {
		if errors.Is(err, media.ErrInUse) {
			return a.showMedia(w, r, http.StatusConflict, []fieldError{{"", sentence(err.Error())}})
		}
		return err
	}
	a.redirect(w, r, "/admin/media", "Image deleted.")
	return nil
}
