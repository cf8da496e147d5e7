package web

import "net/http"

// apiRoutes is every operation of the admin API, in one table: register
// puts each on the mux and the OpenAPI document describes each, and a
// test checks that the two agree.
func apiRoutes() []apiRoute {
	slug := apiParam{Name: "slug", In: "path", Required: true, Description: "The article's slug."}
	email := apiParam{Name: "email", In: "path", Required: true, Description: "The subscriber's address (URL-encoded)."}
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
			ID: "getSubscriber", Tag: "subscribers", Summary: "One subscriber", Params: []apiParam{email},
			Responses: []apiResponse{{200, "The subscriber.", "Subscriber", ""}},
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
	}
}

// serveOpenAPI: GET /api/v1/openapi.json
func serveOpenAPI(a *api, w http.ResponseWriter, r *http.Request) error {
	writeAPIBytes(w, r, http.StatusOK, a.doc)
	return nil
}
