package web

import (
	"context"
	"net/http"

	"github.com/herald-news/herald/digest"
)

// apiRoutes is every operation of the admin API, in one table: register
// puts each on the mux and the OpenAPI document describes each, and a
// test checks that the two agree.
func apiRoutes() []apiRoute {
	slug := apiParam{Name: "slug", In: "path", Required: true, Description: "The article's slug."}
	email := apiParam{Name: "email", In: "path", Required: true, Description: "The subscriber's address (URL-encoded)."}
	nl := apiParam{Name: "id", In: "path", Required: true, Description: "The newsletter's id (newsletters[].id)."}
	run := apiParam{Name: "id", In: "path", Type: "integer", Required: true, Description: "The run's id."}
	runChange := func(id, verb, summary, desc string, op func(APIDigest, context.Context, int64) (*digest.Run, error)) apiRoute {
		return apiRoute{http.MethodPost, apiPrefix + "/runs/{id}/" + verb, controlRun(op), apiOperation{
			ID: id, Tag: "digests", Summary: summary, Description: desc, Params: []apiParam{run},
			Responses: []apiResponse{{200, "The run as it now stands.", "Run", ""}, {409, "The run's status does not allow it.", "Error", ""}},
		}}
	}
	return []apiRoute{
		{http.MethodGet, apiPrefix + "/openapi.json", serveOpenAPI, apiOperation{
			ID: "getOpenAPI", Tag: "meta", Summary: "This API's OpenAPI 3.1 document",
			Responses: []apiResponse{{200, "The OpenAPI document.", "", ""}},
		}},
		{http.MethodGet, apiPrefix + "/articles", listArticles, apiOperation{
			ID: "listArticles", Tag: "articles", Summary: "List articles, newest first",
			Description: "Every article in any state, newest first by (date, id). Page with `next_cursor`: " +
				"the order is stable, so articles added meanwhile neither repeat nor shift a page. Items leave out `body` and `body_html`.",
			Params: []apiParam{
				{Name: "status", In: "query", Description: "Only articles in this state.", Enum: []string{"all", "published", "scheduled", "draft", "removed"}},
				{Name: "tag", In: "query", Description: "Only articles with this tag (a name or a slug)."},
				{Name: "limit", In: "query", Type: "integer", Description: "Articles per page, 1 to 100 (default 20)."},
				{Name: "cursor", In: "query", Description: "The `next_cursor` of the previous page."},
			},
			Responses: []apiResponse{{200, "A page of articles.", "ArticleList", ""}, {400, "A bad filter, limit or cursor.", "Error", ""}},
		}},
		{http.MethodPost, apiPrefix + "/articles", createArticle, apiOperation{
			ID: "createArticle", Tag: "articles", Summary: "Publish a new article",
			Description: "Validated and sanitised exactly as a file in the content folder. Published articles reach the feeds " +
				"(and WebSub hubs) within about a second; a future `date` schedules it; `draft: true` keeps it unlisted.",
			Request: "ArticleInput",
			Responses: []apiResponse{
				{201, "Created; Location names the article.", "Article", ""},
				{409, "The slug is taken (by an API article: PUT to change it; by a file: edit the file).", "Error", ""},
			},
		}},
		{http.MethodGet, apiPrefix + "/articles/{slug}", getArticle, apiOperation{
			ID: "getArticle", Tag: "articles", Summary: "One article, with its body", Params: []apiParam{slug},
			Responses: []apiResponse{{200, "The article.", "Article", ""}},
		}},
		{http.MethodPut, apiPrefix + "/articles/{slug}", updateArticle, apiOperation{
			ID: "replaceArticle", Tag: "articles", Summary: "Replace an article the API created",
			Description: "Every field is replaced (absent ones are cleared). `slug`, if given, must match the URL. " +
				"Articles from the content folder or `herald import` are refused with 409: their file is the source of truth.",
			Params: []apiParam{slug}, Request: "ArticleInput",
			Responses: []apiResponse{{200, "The article as stored.", "Article", ""}, {409, "The article comes from a file.", "Error", ""}},
		}},
		{http.MethodPatch, apiPrefix + "/articles/{slug}", patchArticle, apiOperation{
			ID: "patchArticle", Tag: "articles", Summary: "Change some fields; unpublish with {\"draft\": true}",
			Description: "Fields absent or null stay as they are. `{\"draft\": true}` unpublishes the article (it leaves the feeds " +
				"and pages), `{\"draft\": false}` publishes it again. Articles from files are refused with 409.",
			Params: []apiParam{slug}, Request: "ArticlePatch",
			Responses: []apiResponse{{200, "The article as stored.", "Article", ""}, {409, "The article comes from a file.", "Error", ""}},
		}},
		{http.MethodDelete, apiPrefix + "/articles/{slug}", deleteArticle, apiOperation{
			ID: "deleteArticle", Tag: "articles", Summary: "Delete an article",
			Description: "Deletes an article made by the API or by `herald import`. Articles from the content folder are refused " +
				"with 409: delete the file.",
			Params:    []apiParam{slug},
			Responses: []apiResponse{{204, "Deleted.", "", ""}, {409, "The article comes from the content folder.", "Error", ""}},
		}},
		{http.MethodGet, apiPrefix + "/subscribers", listSubscribers, apiOperation{
			ID: "listSubscribers", Tag: "subscribers", Summary: "List and search subscribers",
			Description: "By id, oldest first; page with `next_cursor`.",
			Params: []apiParam{
				{Name: "status", In: "query", Enum: []string{"all", "pending", "active", "unsubscribed", "bounced"}, Description: "Only subscribers with this status."},
				{Name: "newsletter", In: "query", Description: "Only subscribers of this newsletter id."},
				{Name: "q", In: "query", Description: "Only subscribers whose address or name contains this (any case)."},
				{Name: "limit", In: "query", Type: "integer", Description: "Subscribers per page, 1 to 100 (default 20)."},
				{Name: "cursor", In: "query", Description: "The `next_cursor` of the previous page."},
			},
			Responses: []apiResponse{{200, "A page of subscribers.", "SubscriberList", ""}, {400, "A bad filter, limit or cursor.", "Error", ""}},
		}},
		{http.MethodPost, apiPrefix + "/subscribers", addSubscriber, apiOperation{
			ID: "addSubscriber", Tag: "subscribers", Summary: "Add a subscriber",
			Description: "With `confirmed: true` the address is active at once; else it is pending and gets a confirmation mail, as from the form.",
			Request:     "SubscriberInput",
			Responses:   []apiResponse{{201, "Added (or, for a known address, updated).", "SubscriberAdded", ""}, {400, "A malformed address or unknown newsletter.", "Error", ""}},
		}},
		{http.MethodGet, apiPrefix + "/subscribers.csv", exportSubscribers, apiOperation{
			ID: "exportSubscribers", Tag: "subscribers", Summary: "Every subscriber as CSV",
			Description: "The CSV of `herald subscribers export` (email, name, newsletters, tags, status, subscribed_at), which `herald subscribers import` reads.",
			Responses:   []apiResponse{{200, "The CSV.", "", "text/csv"}},
		}},
		{http.MethodGet, apiPrefix + "/subscribers/{email}", getSubscriber, apiOperation{
			ID: "getSubscriber", Tag: "subscribers", Summary: "One subscriber, with its delivery history", Params: []apiParam{email},
			Responses: []apiResponse{{200, "The subscriber and every digest delivery to it, newest first.", "SubscriberWithHistory", ""}},
		}},
		{http.MethodPatch, apiPrefix + "/subscribers/{email}", patchSubscriber, apiOperation{
			ID: "setSubscriberStatus", Tag: "subscribers", Summary: "Unsubscribe or reactivate a subscriber",
			Params: []apiParam{email}, Request: "SubscriberPatch",
			Responses: []apiResponse{{200, "The subscriber as stored.", "Subscriber", ""}},
		}},
		{http.MethodDelete, apiPrefix + "/subscribers/{email}", eraseSubscriber, apiOperation{
			ID: "eraseSubscriber", Tag: "subscribers", Summary: "Erase a subscriber's personal data",
			Description: "Deletes the record, consent, newsletters and tags (GDPR art. 17); only a count stays.",
			Params:      []apiParam{email},
			Responses:   []apiResponse{{204, "Erased.", "", ""}},
		}},
		{http.MethodGet, apiPrefix + "/subscribers/{email}/export", exportSubscriberData, apiOperation{
			ID: "exportSubscriberData", Tag: "subscribers", Summary: "Everything stored about one subscriber (GDPR art. 15, 20)",
			Params:    []apiParam{email},
			Responses: []apiResponse{{200, "The data.", "SubscriberData", ""}},
		}},
		{http.MethodGet, apiPrefix + "/suppressions", listSuppressions, apiOperation{
			ID: "listSuppressions", Tag: "subscribers", Summary: "The suppression list, newest first",
			Description: "Hard-bounced and complained addresses, never mailed again. Each is kept as a keyed hash; `email` is shown while a subscriber still has the address.",
			Responses:   []apiResponse{{200, "The list.", "SuppressionList", ""}},
		}},
		{http.MethodDelete, apiPrefix + "/suppressions/{email}", removeSuppression, apiOperation{
			ID: "removeSuppression", Tag: "subscribers", Summary: "Lift an address from the suppression list",
			Description: "Deliberately: the address may be mailed again (reactivate the subscriber separately).",
			Params:      []apiParam{email},
			Responses:   []apiResponse{{204, "Lifted.", "", ""}, {404, "The address is not suppressed.", "Error", ""}},
		}},
		{http.MethodGet, apiPrefix + "/media", listMedia, apiOperation{
			ID: "listMedia", Tag: "media", Summary: "Uploaded images, newest first, with the articles using each",
			Responses: []apiResponse{{200, "The uploads.", "MediaList", ""}},
		}},
		{http.MethodPost, apiPrefix + "/media", uploadMedia, apiOperation{
			ID: "uploadMedia", Tag: "media", Summary: "Upload an image (JPEG, PNG, WebP or GIF)",
			Description: "Send the image as the part `file` of multipart/form-data, or as the body itself with its type (name it with `?name=`). " +
				"Its EXIF orientation is applied and all metadata (EXIF with GPS positions, XMP, ICC, comments) removed before it is stored; " +
				"derivatives 600 and 1200 px wide are made. The same image uploaded again is not stored twice. At most `admin.max_upload` (10 MiB by default). " +
				"Use it in an article as `image: /media/u/{hash}.{ext}` (the `url` without the site).",
			Params: []apiParam{{Name: "name", In: "query", Description: "The file name, for a raw body."}},
			Body: obj{"required": true, "content": obj{
				"multipart/form-data": obj{"schema": obj{"type": "object", "required": []string{"file"},
					"properties": obj{"file": obj{"type": "string", "contentMediaType": "application/octet-stream"}}}},
				"image/*": obj{"schema": obj{"type": "string", "contentMediaType": "application/octet-stream"}},
			}},
			Responses: []apiResponse{
				{201, "Stored; Location names the original.", "Media", ""},
				{200, "The same image was uploaded before: that upload.", "Media", ""},
				{400, "A multipart body without a part named file.", "Error", ""},
				{413, "Larger than admin.max_upload.", "Error", ""},
				{415, "Not a JPEG, PNG, WebP or GIF (whatever its name says), or an animated WebP.", "Error", ""},
				{422, "A damaged image, or one over 64 megapixels.", "Error", ""},
			},
		}},
		{http.MethodDelete, apiPrefix + "/media/{hash}", deleteMedia, apiOperation{
			ID: "deleteMedia", Tag: "media", Summary: "Delete an upload no article uses",
			Params:    []apiParam{{Name: "hash", In: "path", Required: true, Description: "The upload's hash."}},
			Responses: []apiResponse{{204, "Deleted, with its derivatives.", "", ""}, {409, "An article uses it; the message names them.", "Error", ""}},
		}},
		{http.MethodGet, apiPrefix + "/newsletters/{id}/runs", listRuns, apiOperation{
			ID: "listRuns", Tag: "digests", Summary: "A newsletter's digest runs, newest first, with counts",
			Description: "Every run (scheduled, manual and test) by slot, newest first, each with its deliveries counted by status.",
			Params:      []apiParam{nl, {Name: "limit", In: "query", Type: "integer", Description: "Runs to list, 1 to 100 (default 20)."}},
			Responses:   []apiResponse{{200, "The runs.", "RunList", ""}, {400, "A bad limit.", "Error", ""}},
		}},
		{http.MethodGet, apiPrefix + "/newsletters/{id}/preview", previewDigest, apiOperation{
			ID: "previewDigest", Tag: "digests", Summary: "The next digest as it would be sent now",
			Description: "Renders what the newsletter's next run would carry if it ran now, changing nothing. " +
				"HTML by default; `format=text` gives the text part (text/plain). `as` renders it for one subscriber (their topics, name and links).",
			Params: []apiParam{nl,
				{Name: "format", In: "query", Enum: []string{"html", "text"}, Description: "html (default) or text."},
				{Name: "as", In: "query", Description: "Render as the subscriber with this address."}},
			Responses: []apiResponse{{200, "The digest (text/plain with format=text).", "", "text/html"},
				{400, "A bad format.", "Error", ""}, {422, "No article matches the topics of the subscriber named by `as`.", "Error", ""}},
		}},
		{http.MethodPost, apiPrefix + "/newsletters/{id}/test", sendTestDigest, apiOperation{
			ID: "sendTestDigest", Tag: "digests", Summary: "Send the would-be digest to one address, as a test",
			Description: "Sends what the next run would carry now to `to` only, with the subject prefixed [Test] and an X-Herald-Test header. " +
				"It is kept as a test run and moves no window: the next real run carries the same articles.",
			Params: []apiParam{nl}, Request: "TestSendInput",
			Responses: []apiResponse{{200, "Sent; the test run.", "Run", ""}, {502, "The mail server refused or could not be reached.", "Error", ""}},
		}},
		{http.MethodPost, apiPrefix + "/newsletters/{id}/send", sendDigestNow, apiOperation{
			ID: "sendDigestNow", Tag: "digests", Summary: "Send the digest now (a manual run)",
			Description: "Plans a manual run now, as `herald digest send --now`: it carries the articles not yet sent and moves the window " +
				"like any run, and the running server's delivery workers send it. Follow it with GET /runs/{id}.",
			Params: []apiParam{nl},
			Responses: []apiResponse{{202, "Planned; being delivered. Location names the run.", "Run", ""},
				{200, "Nothing new to send (send_if_empty off): recorded skipped.", "Run", ""}},
		}},
		{http.MethodGet, apiPrefix + "/runs/{id}", getRun, apiOperation{
			ID: "getRun", Tag: "digests", Summary: "One run, with its deliveries counted", Params: []apiParam{run},
			Responses: []apiResponse{{200, "The run.", "Run", ""}},
		}},
		{http.MethodGet, apiPrefix + "/runs/{id}/deliveries", listDeliveries, apiOperation{
			ID: "listDeliveries", Tag: "digests", Summary: "A run's per-recipient outcomes",
			Description: "By subscriber id; page with `next_cursor`. An erased subscriber's deliveries are gone, kept only in the run's counts.",
			Params: []apiParam{run,
				{Name: "status", In: "query", Enum: []string{"all", "pending", "sending", "sent", "failed", "skipped", "bounced"}, Description: "Only deliveries in this status."},
				{Name: "limit", In: "query", Type: "integer", Description: "Deliveries per page, 1 to 100 (default 20)."},
				{Name: "cursor", In: "query", Description: "The `next_cursor` of the previous page."}},
			Responses: []apiResponse{{200, "A page of deliveries.", "DeliveryList", ""}, {400, "A bad status, limit or cursor.", "Error", ""}},
		}},
		runChange("pauseRun", "pause", "Pause a run",
			"A planned or sending run stops: no worker of any process claims its deliveries (messages in hand finish and are recorded). "+
				"Resume carries it on where it stopped.", APIDigest.PauseRun),
		runChange("resumeRun", "resume", "Resume a paused run", "The workers carry it on where it stopped.", APIDigest.ResumeRun),
		runChange("cancelRun", "cancel", "Cancel a run",
			"A planned, sending or paused run is cancelled: its open deliveries are settled skipped with the reply \"run cancelled\" "+
				"(a message in hand still records its real outcome). A done run cannot be cancelled (409).", APIDigest.CancelRun),
	}
}

// serveOpenAPI: GET /api/v1/openapi.json
func serveOpenAPI(a *api, w http.ResponseWriter, r *http.Request) error {
	writeAPIBytes(w, r, http.StatusOK, a.doc)
	return nil
}
