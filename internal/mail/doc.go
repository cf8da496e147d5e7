// Package mail is Herald's mail transport: it builds messages with go-mail,
// encodes a digest once and personalises it per recipient by substitution
// (see Prepare), and sends the bytes over SMTP (a pooled low-level client) or
// into an outbox folder of .eml files. DKIM signing happens last, on the bytes
// that go out, so personalised messages verify.
package mail
