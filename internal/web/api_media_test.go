package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
)

// multipartBody is a form with the file under field.
func multipartBody(t *testing.T, field, name string, data []byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("alt", "ignored")
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return buf.String(), mw.FormDataContentType()
}

func TestAPIMedia(t *testing.T) {
	const limit = 300 << 10
	f := newAPIFixtureWired(t, func(st *sqlite.Store, c *web.APIConfig) {
		c.Media = &media.Service{Store: st, Limit: limit}
		c.MaxUpload = limit
	}, defaultTokens()...)
	m := image.NewRGBA(image.Rect(0, 0, 1300, 200))
	draw.Draw(m, m.Bounds(), image.NewUniform(color.RGBA{200, 120, 10, 255}), image.Point{}, draw.Src)
	var pic bytes.Buffer
	png.Encode(&pic, m)

	body, ct := multipartBody(t, "file", "harbour.png", pic.Bytes())
	r := f.do(t, http.MethodPost, "/api/v1/media", body, "Content-Type", ct)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	up := r.json(t)
	hash, _ := up["hash"].(string)
	url := "/media/u/" + hash + ".png"
	if up["name"] != "harbour.png" || up["url"] != "https://news.example.org"+url || up["width"] != 1300.0 ||
		up["content_type"] != "image/png" || r.Header.Get("Location") != url || up["created_by"] != "token default" {
		t.Errorf("upload answer %s (Location %s)", r.Body, r.Header.Get("Location"))
	}
	if ds, _ := up["derivatives"].([]any); len(ds) != 2 || !strings.HasSuffix(ds[0].(map[string]any)["url"].(string), "-600.jpg") {
		t.Errorf("derivatives %v", up["derivatives"])
	}
	if resp, _ := get(t, f.srv.URL+url); resp.StatusCode != 200 {
		t.Errorf("GET %s: %d", url, resp.StatusCode)
	}

	t.Run("RawBodyDedupe", func(t *testing.T) {
		r := f.do(t, http.MethodPost, "/api/v1/media?name=again.png", pic.String(), "Content-Type", "image/png")
		if r.Status != http.StatusOK || r.json(t)["hash"] != hash {
			t.Errorf("same image again: %d %s; want 200 with the first upload", r.Status, r.Body)
		}
	})

	for _, c := range []struct {
		name, ct, body string
		status         int
		msg            string
	}{
		{"ErrTextNamedJPEG", "", "", http.StatusUnsupportedMediaType, "notes.jpg: not an image Herald accepts"},
		{"ErrTooLarge", "image/jpeg", "", http.StatusRequestEntityTooLarge, "upload limit of 300 KiB"},
		{"ErrNoFilePart", "", "", http.StatusBadRequest, `no part named "file"`},
		{"ErrNoParts", "multipart/form-data; boundary=x", "rubbish", http.StatusBadRequest, `no part named "file"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, ct := c.body, c.ct
			switch c.name {
			case "ErrTextNamedJPEG":
				body, ct = multipartBody(t, "file", "notes.jpg", []byte("Minutes of the harbour meeting.\n"))
			case "ErrTooLarge":
				body = string(noiseJPEG(t, 800, 600))
				if len(body) <= limit {
					t.Fatalf("fixture only %d bytes", len(body))
				}
			case "ErrNoFilePart":
				body, ct = multipartBody(t, "picture", "a.png", pic.Bytes())
			}
			r := f.do(t, http.MethodPost, "/api/v1/media", body, "Content-Type", ct)
			if r.Status != c.status || !strings.Contains(r.errorOf(t)["message"].(string), c.msg) {
				t.Errorf("%d %s; want %d saying %q", r.Status, r.Body, c.status, c.msg)
			}
		})
	}

	t.Run("InUse", func(t *testing.T) {
		r := f.do(t, http.MethodPost, "/api/v1/articles", articleJSON("harbour-day", "Harbour day", `"image":"`+url+`"`, `"image_alt":"The quay"`))
		if r.Status != http.StatusCreated || r.json(t)["image"] != url {
			t.Fatalf("article with the upload: %d %s", r.Status, r.Body)
		}
		list := f.do(t, http.MethodGet, "/api/v1/media", "").json(t)["media"].([]any)
		used := list[0].(map[string]any)["used_by"].([]any)
		if len(list) != 1 || len(used) != 1 || used[0].(map[string]any)["slug"] != "harbour-day" {
			t.Errorf("list: %v", list)
		}
		r = f.do(t, http.MethodDelete, "/api/v1/media/"+hash, "")
		if r.Status != http.StatusConflict || !strings.Contains(r.errorOf(t)["message"].(string), "harbour-day") {
			t.Errorf("delete in use: %d %s", r.Status, r.Body)
		}
		if r := f.do(t, http.MethodDelete, "/api/v1/articles/harbour-day", ""); r.Status != http.StatusNoContent {
			t.Fatalf("delete article: %d", r.Status)
		}
		if r := f.do(t, http.MethodDelete, "/api/v1/media/"+hash, ""); r.Status != http.StatusNoContent {
			t.Errorf("delete unused: %d %s", r.Status, r.Body)
		}
		if r := f.do(t, http.MethodDelete, "/api/v1/media/"+hash, ""); r.Status != http.StatusNotFound {
			t.Errorf("delete again: %d %s", r.Status, r.Body)
		}
		if resp, _ := get(t, f.srv.URL+url); resp.StatusCode != 404 {
			t.Errorf("GET after delete: %d", resp.StatusCode)
		}
	})

	t.Run("Audited", func(t *testing.T) {
		audit, err := f.store.Audit(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range audit {
			actions = append(actions, e.Action+" by "+e.Email+" from "+e.IP)
		}
		want := "media.delete by token default from 127.0.0.1,media.upload by token default from 127.0.0.1"
		if strings.Join(actions, ",") != want {
			t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(actions, ","), want)
		}
	})
}

func noiseJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.Uint32())
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
