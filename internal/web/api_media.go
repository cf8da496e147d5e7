package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/media"
)

// APIMedia is the upload service for /api/v1/media (media.Service).
type APIMedia interface {
	Upload(ctx context.Context, name string, r io.Reader, by media.Actor) (media.Item, bool, error)
	List(ctx context.Context) ([]media.Listed, error)
	Delete(ctx context.Context, hash string, by media.Actor) error
}

// apiMediaFile is one file of an upload in JSON.
type apiMediaFile struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

type apiMediaUse struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// apiMedia is an upload in JSON: its original's fields, its derivatives,
// and (in lists) the articles using it.
type apiMedia struct {
	Hash string `json:"hash"`
	Name string `json:"name"`
	apiMediaFile
	Derivatives []apiMediaFile `json:"derivatives"`
	CreatedAt   time.Time      `json:"created_at"`
	CreatedBy   string         `json:"created_by"`
	UsedBy      *[]apiMediaUse `json:"used_by,omitempty"`
}

func (a *api) mediaOut(it media.Item) apiMedia {
	abs := func(p string) string { return strings.TrimRight(a.site.BaseURL, "/") + p }
	o := apiMedia{Hash: it.Hash, Name: it.Name, CreatedAt: it.CreatedAt, CreatedBy: it.CreatedBy, Derivatives: []apiMediaFile{},
		apiMediaFile: apiMediaFile{URL: abs(it.URL()), Width: it.Original.Width, Height: it.Original.Height,
			ContentType: it.Original.ContentType, Size: it.Original.Size}}
	for _, d := range it.Derivatives {
		o.Derivatives = append(o.Derivatives, apiMediaFile{URL: abs(media.DerivativeURL(it.Hash, d.Width, d.Ext())),
			Width: d.Width, Height: d.Height, ContentType: d.ContentType, Size: d.Size})
	}
	return o
}

// multipartSlack is what a multipart body may add to the file it carries.
const multipartSlack = 64 << 10

// uploadMedia: POST /api/v1/media, the image as the part "file" of a
// multipart/form-data body, or as the body itself (its name from ?name=).
func uploadMedia(a *api, w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Media == nil {
		return &HTTPError{Status: http.StatusNotFound, Msg: "uploads are not available here"}
	}
	limit := a.cfg.MaxUpload
	if limit <= 0 {
		limit = media.DefaultLimit
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	body, name := io.Reader(r.Body), r.URL.Query().Get("name")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		part, err := filePart(r)
		if err != nil {
			return err
		}
		defer part.Close()
		body, name = part, part.FileName()
	}
	if name == "" {
		name = "upload"
	}
	it, created, err := a.cfg.Media.Upload(r.Context(), name, body, a.actor(r))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &HTTPError{Status: http.StatusRequestEntityTooLarge, Msg: name + ": the file is larger than the upload limit of " + media.FormatSize(limit)}
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", it.URL())
	}
	writeAPIJSON(w, r, status, a.mediaOut(it))
	return nil
}

// filePart finds the part named "file" of a multipart body.
func filePart(r *http.Request) (interface {
	io.ReadCloser
	FileName() string
}, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &HTTPError{Status: http.StatusBadRequest, Msg: "malformed multipart body: " + err.Error()}
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &HTTPError{Status: http.StatusBadRequest, Field: "file", Msg: `no part named "file": send the image as the form field "file"`}
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, &HTTPError{Status: http.StatusBadRequest, Msg: "malformed multipart body: " + err.Error()}
		}
		if p.FormName() == "file" {
			return p, nil
		}
		p.Close()
	}
}

// listMedia: GET /api/v1/media, newest first, with the articles using each.
func listMedia(a *api, w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Media == nil {
		return &HTTPError{Status: http.StatusNotFound, Msg: "uploads are not available here"}
	}
	list, err := a.cfg.Media.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Media []apiMedia `json:"media"`
	}{Media: []apiMedia{}}
	for _, l := range list {
		o := a.mediaOut(l.Item)
		uses := []apiMediaUse{}
		for _, u := range l.UsedBy {
			uses = append(uses, apiMediaUse{Slug: u.Slug, Title: u.Title, URL: strings.TrimRight(a.site.BaseURL, "/") + "/articles/" + u.Slug})
		}
		o.UsedBy = &uses
		out.Media = append(out.Media, o)
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// deleteMedia: DELETE /api/v1/media/{hash}; 409 while an article uses it.
func deleteMedia(a *api, w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Media == nil {
		return &HTTPError{Status: http.StatusNotFound, Msg: "uploads are not available here"}
	}
	if err := a.cfg.Media.Delete(r.Context(), r.PathValue("hash"), a.actor(r)); err != nil {
		if errors.Is(err, media.ErrInUse) {
			return &HTTPError{Status: http.StatusConflict, Field: "hash", Msg: err.Error()}
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
