package store

import "time"

// Version is one stored version of a key in a versioned object store, or a
// delete marker. An object store that keeps versions lets a reader see what
// a plain listing hides: a deleted object whose locked version remains, or
// a key written twice.
type Version struct {
	Key          string
	VersionID    string
	LastModified time.Time // set by the server, not by the writer
	Size         int64
	IsLatest     bool
	DeleteMarker bool
}

// Retention is an object version's write-once protection: its Object Lock
// mode ("" when none) and the date until which it cannot be deleted.
type Retention struct {
	Mode  string
	Until time.Time
}
