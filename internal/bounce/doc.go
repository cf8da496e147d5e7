// Package bounce is Herald's bounce and complaint core: VERP tokens, the
// inbound SMTP listener, DSN/ARF/auto-reply classification and the
// provider webhooks. It owns no storage: what it learns arrives as Events
// at a Handler the integration implements (docs/ARCHITECTURE.md,
// "Bounces and complaints").
//
// # Addresses
//
// With mail.bounce.domain set, a message's envelope sender is
// bounces+{token}@{domain} (Tokens.Delivery for a run's delivery,
// Tokens.SubscriberMail for a confirmation, welcome or test mail) and its
// List-Unsubscribe also offers mailto:unsubscribe+{token}@{domain}
// (Tokens.Unsubscribe). Tokens are lowercase base32, HMAC-signed with
// secrets.token_keys and bound to the subscriber's link secret; the whole
// local part stays within 64 octets.
//
// # Inbound mail
//
// The Listener accepts mail only for valid signed bounces+ and
// unsubscribe+ addresses and refuses every other recipient with 550. Mail
// to unsubscribe+ is an Unsubscribe event; mail to bounces+ is parsed:
// Hard, Soft and Complaint become events, AutoReply and Delivered are
// dropped, and anything else is kept (MailHandler.Keep) for an operator.
//
// # Webhooks
//
// Under /webhooks/bounces/{provider}, each answers 4xx for a bad signature
// and 5xx when the Handler fails (so the provider retries); every Event has
// a stable ID so a retry is recognised:
//
//   - ses: Amazon SNS, signature versions 1 and 2, the certificate fetched
//     over https only from an sns.*.amazonaws.com host and cached, the
//     TopicArn pinned, SubscriptionConfirmation confirmed.
//   - postmark: basic auth.
//   - sendgrid: the signed event webhook (ECDSA P-256 over timestamp+body).
//   - mailgun: HMAC-SHA256 over timestamp+token, signatures up to 24 hours
//     old (Mailgun's retries) and a replay cache of tokens (a replay gets
//     406).
//   - generic: for any other relay, below.
//
// # The generic webhook
//
// POST /webhooks/bounces/generic with
//
//	X-Herald-Timestamp: <Unix seconds, within ±5 minutes of the server's clock>
//	X-Herald-Signature: sha256=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Content-Type: application/json
//
//	{"events": [
//	  {"id": "evt-1", "type": "bounce", "bounce_type": "hard",
//	   "email": "someone@example.net", "message_id": "<run7.sub42@news.example.com>",
//	   "time": "2026-12-05T10:00:00Z"},
//	  {"id": "evt-2", "type": "complaint", "email": "other@example.org",
//	   "message_id": "", "time": "2026-12-05T10:01:00Z"}
//	]}
//
// id (unique per event at the relay; a resend with the same id is applied
// once), type ("bounce" or "complaint"), bounce_type ("hard" or "soft",
// bounces only) and email are required; message_id is the Message-ID
// header of the mail Herald sent (brackets optional); time is RFC 3339.
// Answers: 200 applied (or already applied), 400 malformed, 401 bad or
// stale signature, 500 try again later. The body is at most 1 MiB.
package bounce
