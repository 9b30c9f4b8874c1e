package audit

import "time"

// SetNow replaces the clock the completeness stage judges open slots by.
func SetNow(f func() time.Time) (restore func()) {
	prev := now
	now = f
	return func() { now = prev }
}
