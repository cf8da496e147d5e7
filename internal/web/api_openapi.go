package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// apiOperation documents one route of apiRoutes for OpenAPI.
type apiOperation struct {
	ID, Tag, Summary, Description string
	Params                        []apiParam
	Request                       string // schema of the JSON body; "" none
	Body                          obj    // a body that is not JSON (an upload), as OpenAPI writes it
	RequestOptional               bool   // the body may be left out
	Responses                     []apiResponse
}

type apiParam struct {
	Name, In, Description string
	Type                  string // "string" when empty
	Required              bool
	Enum                  []string
}

type apiResponse struct {
	Status      int
	Description string
	Schema      string // "" no body (or, with Type, an unstructured one)
	Type        string // media type; "" application/json
}

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema string) obj {
	return obj{"application/json": obj{"schema": ref(schema)}}
}

// openAPIDocument builds the OpenAPI 3.1 document from apiRoutes, so
// every route is documented by construction; api_test checks it too.
func openAPIDocument(site Site) []byte {
	paths := obj{}
	for _, rt := range apiRoutes() {
		op := rt.Doc
		o := obj{"operationId": op.ID, "summary": op.Summary, "tags": []string{op.Tag}}
		if op.Description != "" {
			o["description"] = op.Description
		}
		var params []obj
		for _, p := range op.Params {
			t := p.Type
			if t == "" {
				t = "string"
			}
			schema := obj{"type": t}
			if len(p.Enum) > 0 {
				schema["enum"] = p.Enum
			}
			params = append(params, obj{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path", "description": p.Description, "schema": schema})
		}
		if params != nil {
			o["parameters"] = params
		}
		responses := obj{}
		add := func(status int, desc, schema string) {
			key := strconv.Itoa(status)
			if _, ok := responses[key]; ok {
				return
			}
			r := obj{"description": desc}
			if schema != "" {
				r["content"] = jsonContent(schema)
			}
			responses[key] = r
		}
		for _, r := range op.Responses {
			if r.Type != "" {
				responses[strconv.Itoa(r.Status)] = obj{"description": r.Description, "content": obj{r.Type: obj{"schema": obj{"type": "string"}}}}
				continue
			}
			add(r.Status, r.Description, r.Schema)
		}
		if op.Request != "" {
			o["requestBody"] = obj{"required": !op.RequestOptional, "content": jsonContent(op.Request)}
			add(http.StatusBadRequest, "Malformed JSON, an unknown field, a wrong type or trailing data.", "Error")
			add(http.StatusRequestEntityTooLarge, "The body is larger than the limit (1 MiB by default).", "Error")
			add(http.StatusUnsupportedMediaType, "The body is not application/json.", "Error")
			add(http.StatusUnprocessableEntity, "A field fails validation (as the same front matter in a file would); `field` names it.", "Error")
		}
		if op.Body != nil {
			o["requestBody"] = op.Body
		}
		add(http.StatusUnauthorized, "No bearer token, another scheme, or an unknown token.", "Error")
		add(http.StatusNotFound, "Nothing there, or the API is off (no admin.tokens configured).", "Error")
		o["responses"] = responses
		item, _ := paths[rt.Path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = o
	}
	str := obj{"type": "string"}
	dateTime := obj{"type": "string", "format": "date-time"}
	strs := obj{"type": "array", "items": str}
	inputProps := func(nullable bool) obj {
		t := func(typ string) obj {
			if nullable {
				return obj{"type": []string{typ, "null"}}
			}
			return obj{"type": typ}
		}
		arr := obj{"type": "array", "items": str}
		if nullable {
			arr["type"] = []string{"array", "null"}
		}
		return obj{
			"title":        with(t("string"), "Plain text: markup stays literal text."),
			"date":         with(t("string"), "2026-11-13 or RFC 3339; without a zone it is in site.timezone. A future date schedules the article."),
			"updated":      with(t("string"), "When it last changed meaningfully; default: when Herald saw the change."),
			"author":       with(t("string"), "Plain text."),
			"author_email": t("string"),
			"tags":         with(arr, "Tag names; slugs are made from them."),
			"summary":      with(t("string"), "Plain text; default: the body's first paragraph."),
			"image":        with(t("string"), "An http(s) URL, or a path in the content folder (served under /media/)."),
			"image_alt":    t("string"),
			"link":         with(t("string"), "Canonical URL elsewhere (absolute http(s))."),
			"draft":        with(t("boolean"), "true: stored but not listed anywhere."),
			"body":         with(t("string"), "Markdown (GitHub flavoured); rendered and sanitised as a file's body is."),
			"base":         with(t("string"), "The article's `version` this edit started from: the write happens only if it is still the current one (else 409). Absent: no check."),
		}
	}
	in := inputProps(false)
	in["slug"] = with(obj{"type": "string"}, "The article's id and URL, never changed. Made a slug (lowercase ASCII, dashes). Absent on create: made from the title, with -2, -3 when taken; sent and taken: 409.")
	articleProps := obj{
		"slug": str, "title": str, "date": with(obj{"type": "string", "format": "date-time"}, "Publication time, UTC."),
		"updated": obj{"type": "string", "format": "date-time"}, "author": str, "author_email": str,
		"tags": strs, "tag_slugs": strs, "summary": str, "image": str, "image_alt": str, "link": str,
		"draft": obj{"type": "boolean"}, "body": with(str, "Markdown source (not in lists)."),
		"body_html": with(str, "Sanitised HTML (not in lists)."),
		"status":    obj{"type": "string", "enum": []string{"published", "scheduled", "draft", "removed"}},
		"source": with(obj{"type": "string", "enum": []string{"api", "file", "import"}},
			"Where it came from: only api articles can be changed through the API."),
		"source_path": with(str, "For file and import articles: the file."),
		"url":         with(str, "Its public page."),
		"first_seen":  with(obj{"type": "string", "format": "date-time"}, "When the store first held it published."),
		"version":     with(str, "The current revision (not in lists; absent for articles from files): send it as `base` with the next edit."),
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":   "Herald admin API",
			"version": "1",
			"description": "Manage Herald's articles, subscribers and digests. Authenticate with `Authorization: Bearer TOKEN` (a token of admin.tokens). " +
				"Errors are JSON: {\"error\": {\"field\": …, \"message\": …, \"request_id\": …}}.",
		},
		"servers":  []obj{{"url": strings.TrimRight(site.BaseURL, "/")}},
		"security": []obj{{"bearer": []string{}}},
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}},
			"schemas": obj{
				"ArticleInput": obj{"type": "object", "additionalProperties": false, "required": []string{"title", "date"}, "properties": in},
				"ArticlePatch": obj{"type": "object", "additionalProperties": false, "properties": inputProps(true)},
				"Article":      obj{"type": "object", "properties": articleProps},
				"ArticleList": obj{"type": "object", "required": []string{"articles", "total"}, "properties": obj{
					"articles":    obj{"type": "array", "items": ref("Article")},
					"next_cursor": with(str, "Absent on the last page."),
					"total":       with(obj{"type": "integer"}, "Articles matching the filters on all pages."),
				}},
				"Revision": obj{"type": "object", "properties": obj{
					"id": obj{"type": "integer"}, "version": with(str, "The `base` an edit from this revision sends."),
					"at":      dateTime,
					"who":     with(str, "`token NAME` or the user's address; empty for the version saved before revisions were kept."),
					"ip":      str,
					"current": with(obj{"type": "boolean"}, "This revision is the article as it stands."),
					"fields":  with(obj{"type": "object", "properties": inputProps(false)}, "Every input field as saved (only for one revision)."),
				}},
				"RevisionList": obj{"type": "object", "required": []string{"revisions"}, "properties": obj{
					"revisions": obj{"type": "array", "items": ref("Revision")},
				}},
				"RestoreInput": obj{"type": "object", "additionalProperties": false, "properties": obj{
					"base": with(str, "The article's current `version`: restore only if nobody saved since."),
				}},
				"Subscriber": obj{"type": "object", "properties": obj{
					"id": obj{"type": "integer"}, "email": str, "name": str,
					"status":      obj{"type": "string", "enum": []string{"pending", "active", "unsubscribed", "bounced"}},
					"newsletters": strs, "tags": with(strs, "Topic tag slugs: with any, only matching articles are sent."),
					"language":   with(str, "Language of pages and mails (en, sv, da, nb, fi, de, nl, fr or one a templates.dir catalogue adds); empty: the newsletter's."),
					"created_at": dateTime, "updated_at": dateTime, "confirmed_at": dateTime, "unsubscribed_at": dateTime,
					"confirm_sent_at": dateTime,
					"consent":         obj{"type": "object", "properties": obj{"at": dateTime, "ip": str, "source": str, "text": str}},
					"hard_failures":   obj{"type": "integer"}, "soft_failures": obj{"type": "integer"},
					"pending_choice": with(obj{"type": "object"}, "A re-subscription waiting for confirmation."),
				}},
				"SubscriberList": obj{"type": "object", "required": []string{"subscribers"}, "properties": obj{
					"subscribers": obj{"type": "array", "items": ref("Subscriber")},
					"next_cursor": with(str, "Absent on the last page."),
				}},
				"SubscriberInput": obj{"type": "object", "additionalProperties": false, "required": []string{"email"}, "properties": obj{
					"email": str, "name": str,
					"newsletters": with(strs, "Newsletter ids; empty: those marked default."),
					"tags":        with(strs, "Topic tags; each must be a tag of a stored article or of a newsletter."),
					"language":    with(str, "One of site.languages; empty: the newsletter's language."),
					"confirmed":   with(obj{"type": "boolean"}, "true: active at once (you vouch for consent); false: a confirmation mail goes out (double opt-in)."),
				}},
				"SubscriberAdded": obj{"type": "object", "properties": obj{
					"subscriber": ref("Subscriber"), "confirmation_sent": obj{"type": "boolean"},
				}},
				"SubscriberPatch": obj{"type": "object", "additionalProperties": false, "minProperties": 1, "properties": obj{
					"status": with(obj{"type": "string", "enum": []string{"unsubscribed", "active"}},
						"unsubscribed: from every newsletter (the record stays); active: you vouch for consent."),
					"language": with(str, "One of site.languages; empty: the newsletter's language. Set after status when both are given."),
				}},
				"SubscriberData": obj{"type": "object", "properties": obj{
					"exported_at": dateTime, "subscriber": ref("Subscriber"),
					"deliveries": obj{"type": "array", "items": ref("SubscriberDelivery")},
				}},
				"SubscriberWithHistory": obj{"allOf": []obj{ref("Subscriber"), {"type": "object", "properties": obj{
					"deliveries": obj{"type": "array", "items": ref("SubscriberDelivery")},
				}}}},
				"SubscriberDelivery": obj{"type": "object", "properties": obj{
					"run": obj{"type": "integer"}, "newsletter": str, "subject": str,
					"status":   obj{"type": "string", "enum": []string{"pending", "sending", "sent", "failed", "skipped", "bounced"}},
					"attempts": obj{"type": "integer"}, "reply": str, "message_id": str, "sent_at": dateTime,
				}},
				"Run": obj{"type": "object", "properties": obj{
					"id": obj{"type": "integer"}, "newsletter": str,
					"slot":       with(str, "Unique per newsletter: the wall-clock slot in its zone, or manual-/test- keys."),
					"slot_at":    dateTime,
					"kind":       obj{"type": "string", "enum": []string{"scheduled", "manual", "test"}},
					"status":     obj{"type": "string", "enum": []string{"planned", "sending", "paused", "cancelled", "done", "skipped", "failed"}},
					"subject":    str,
					"articles":   obj{"type": "integer"},
					"recipients": with(obj{"type": "integer"}, "Deliveries planned."),
					"created_at": dateTime, "started_at": dateTime, "finished_at": dateTime,
					"failure": with(str, "Why a failed run failed (composing or rendering the digest); its articles go with the next run."),
					"counts": with(obj{"type": "object", "properties": obj{
						"planned": obj{"type": "integer"}, "pending": obj{"type": "integer"}, "sending": obj{"type": "integer"},
						"sent": obj{"type": "integer"}, "failed": obj{"type": "integer"}, "skipped": obj{"type": "integer"},
						"bounced": with(obj{"type": "integer"}, "Sent, then hard-bounced (not in sent)."),
					}}, "Deliveries by status (absent for a test send)."),
					"feedback": with(obj{"type": "object", "properties": obj{
						"hard": with(obj{"type": "integer"}, "Deliveries hard-bounced."), "soft": obj{"type": "integer"},
						"complaints":     obj{"type": "integer"},
						"bounce_rate":    with(obj{"type": "number"}, "Hard bounces as a fraction of the messages sent (bounced ones included)."),
						"complaint_rate": with(obj{"type": "number"}, "Complaints as a fraction of the messages sent."),
					}}, "Bounces and complaints reported for the run (one run's view only)."),
				}},
				"SuppressionList": obj{"type": "object", "required": []string{"suppressions"}, "properties": obj{
					"suppressions": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
						"hash":       with(str, "Hex of the keyed hash of the address (HMAC with the token key)."),
						"reason":     obj{"type": "string", "enum": []string{"hard", "complaint"}},
						"email":      with(str, "Absent once no subscriber has the address (erased)."),
						"created_at": dateTime,
					}}},
				}},
				"RunList": obj{"type": "object", "required": []string{"runs"}, "properties": obj{
					"runs": obj{"type": "array", "items": ref("Run")},
				}},
				"Delivery": obj{"type": "object", "properties": obj{
					"subscriber_id": obj{"type": "integer"}, "email": with(str, "Empty once the subscriber is erased."),
					"status":   obj{"type": "string", "enum": []string{"pending", "sending", "sent", "failed", "skipped", "bounced"}},
					"attempts": obj{"type": "integer"}, "reply": with(str, "The last SMTP reply or the reason."),
					"message_id": str, "sent_at": with(dateTime, "When it was settled."),
				}},
				"DeliveryList": obj{"type": "object", "required": []string{"deliveries"}, "properties": obj{
					"deliveries":  obj{"type": "array", "items": ref("Delivery")},
					"next_cursor": with(str, "Absent on the last page."),
				}},
				"TestSendInput": obj{"type": "object", "additionalProperties": false, "required": []string{"to"}, "properties": obj{
					"to": with(str, "The one address to send the test to."),
				}},
				"MediaFile": obj{"type": "object", "properties": obj{
					"url":   with(str, "Absolute; immutable, cached for a year."),
					"width": obj{"type": "integer"}, "height": obj{"type": "integer"},
					"content_type": obj{"type": "string", "enum": []string{"image/jpeg", "image/png", "image/gif", "image/webp"}},
					"size":         with(obj{"type": "integer"}, "Bytes."),
				}},
				"Media": obj{"allOf": []obj{ref("MediaFile"), {"type": "object", "properties": obj{
					"hash": with(str, "Content hash of the stored original (32 hex characters): its id."),
					"name": with(str, "The file name it was uploaded under."),
					"derivatives": with(obj{"type": "array", "items": ref("MediaFile")},
						"Resized copies 600 and 1200 px wide, narrowest first (JPEG, or PNG with transparency); none wider than the original."),
					"created_at": dateTime, "created_by": with(str, "Who uploaded it: a user's address or api:TOKEN-NAME."),
					"used_by": with(obj{"type": "array", "items": obj{"type": "object", "properties": obj{"slug": str, "title": str, "url": str}}},
						"The articles whose image or body uses it (in lists)."),
				}}}},
				"MediaList": obj{"type": "object", "required": []string{"media"}, "properties": obj{
					"media": obj{"type": "array", "items": ref("Media")},
				}},
				"Error": obj{"type": "object", "required": []string{"error"}, "properties": obj{
					"error": obj{"type": "object", "required": []string{"message", "request_id"}, "properties": obj{
						"field":      with(str, "The JSON field at fault, when there is one."),
						"message":    str,
						"request_id": with(str, "Also in the X-Request-Id header and the log."),
					}},
				}},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("web: OpenAPI document: " + err.Error()) // a programming error: the values are all static
	}
	return append(b, '\n')
}

func with(o obj, description string) obj {
	c := obj{"description": description}
	for k, v := range o {
		c[k] = v
	}
	return c
}
