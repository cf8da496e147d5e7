package store

import "time"

// Roles of admin users, from most to least trusted.
const (
	RoleOwner   = "owner"
	RoleManager = "manager"
	RoleEditor  = "editor"
)

// User is an admin of the web UI. PasswordHash is an encoded argon2id hash,
// empty until the setup link is used. SetupHash is the SHA-256 (hex) of the
// one-time setup token, empty when none is outstanding.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
	SetupHash    string
	SetupExpires time.Time
	// FailedLogins counts wrong passwords since the last good one;
	// NextLoginAt is when the account may try again.
	FailedLogins int
	NextLoginAt  time.Time
	// TOTPSecret (base32) is set when two-factor sign-in is on;
	// TOTPLastStep is the last 30-second step whose code was used.
	TOTPSecret   string
	TOTPLastStep int64
	// LastLoginAt is the last completed sign-in; zero: never.
	LastLoginAt time.Time
}

// Session is a signed-in browser. IDHash is the SHA-256 (hex) of the
// cookie's random id, so a copy of the store cannot be used to sign in.
type Session struct {
	IDHash    string
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	UserAgent string
	IP        string
	// Pending: the password was right but the code is still due; such a
	// session opens nothing.
	Pending bool
}

// AuditEntry records one admin write: who (UserID and Email, kept when the
// user is removed), what, when and from which address.
type AuditEntry struct {
	ID     int64
	At     time.Time
	UserID int64
	Email  string
	Action string
	Detail string
	IP     string
}

// ImportUpload is a subscriber CSV uploaded in the admin UI and kept, for
// its uploader only, until it is confirmed or expires.
type ImportUpload struct {
	ID        string
	UserID    int64
	Name      string // the file's name as uploaded
	Confirmed bool   // rows without a status are imported active
	SendOptin bool   // pending rows never mailed get the confirmation mail
	Data      []byte
	Expires   time.Time
}
