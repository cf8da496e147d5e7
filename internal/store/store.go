// Package store holds what every store backend shares: its errors.
// Backends live in subpackages (sqlite/, postgres/) and pass the
// conformance suite in storetest/.
package store

import "errors"

var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write would break a uniqueness rule (e.g. two
	// sources claim one slug).
	ErrConflict = errors.New("conflict")
	// ErrEditConflict: a write started from a version of a record that is
	// no longer the current one (someone saved in between).
	ErrEditConflict = errors.New("edit conflict")
	// ErrTooNew: the store was migrated by a newer Herald.
	ErrTooNew = errors.New("store schema is newer than this binary")
	// ErrNoStore: opening without create found no store where the DSN
	// points (no file, or a database Herald never migrated).
	ErrNoStore = errors.New("no store")
)
