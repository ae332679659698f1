package sqlitedriver

import "time"

// micros encodes t as stored: microseconds since the Unix epoch, negative
// before it. Every time is kept, the epoch and the zero time included; only
// a lock expiry has a stored "no time" (see lockMicros).
func micros(t time.Time) int64 {
	return t.UnixMicro()
}

// fromMicros decodes a time stored by micros.
func fromMicros(v int64) time.Time {
	return time.UnixMicro(v).UTC()
}

// noLock is the locked_until of a job that holds no lock. No lock ends at
// the epoch itself: a claim locks a job until after the claim's now.
const noLock = 0

// lockMicros encodes a lock expiry: the zero time, no lock, is noLock.
func lockMicros(t time.Time) int64 {
	if t.IsZero() {
		return noLock
	}
	return micros(t)
}

// fromLockMicros decodes a locked_until: noLock is the zero time.
func fromLockMicros(v int64) time.Time {
	if v == noLock {
		return time.Time{}
	}
	return fromMicros(v)
}
