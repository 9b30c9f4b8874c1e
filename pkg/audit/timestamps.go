package audit

import (
	"context"
	"errors"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
)

// DefaultTSATolerance is how far a time-stamp token's time may lie from the
// finished_at of the snapshot it covers: the agent asks for the token as
// soon as the snapshot is signed.
const DefaultTSATolerance = 10 * time.Minute

// tokenState is, per series, whether an earlier snapshot carried a token,
// and how many tokens went unchecked for want of pinned TSA certificates.
type tokenState struct {
	seen      map[string]bool
	unchecked int
}

// checkToken checks a snapshot's RFC 3161 token: that it verifies against
// the pinned TSA certificates, covers exactly these bytes, and dates them
// within the tolerance of the finished_at the snapshot claims. A signature
// proves who wrote a snapshot; only a time no writer controls proves when.
// It reports whether the token anchors the snapshot at its finished_at.
func (v *verifier) checkToken(key string, snap *evidence.Snapshot, b []byte, have bool, raw []byte, err error) bool {
	ts := &v.tokens
	if ts.seen == nil {
		ts.seen = map[string]bool{}
	}
	tkey := store.TokenKey(key)
	if !have {
		if ts.seen[snap.Series] {
			v.problem(tkey, "missing: earlier snapshots of the series carry a time-stamp token and this one does not (its TSA was unreachable and the token is still to come, or it was removed)")
		}
		return false
	}
	ts.seen[snap.Series] = true
	if err != nil {
		v.problem(tkey, "unreadable: %s", readError(err))
		return false
	}
	if v.opts.TSACerts == nil {
		ts.unchecked++
		return false
	}
	tok, err := timestamp.Verify(raw, b, v.opts.TSACerts)
	if err != nil {
		v.problem(tkey, "time-stamp token does not verify: %s", EscapeText(err.Error()))
		return false
	}
	tolerance := v.opts.TSATolerance
	if tolerance <= 0 {
		tolerance = DefaultTSATolerance
	}
	tolerance += tok.Accuracy
	delay := tok.Time.Sub(snap.FinishedAt)
	switch {
	case delay > tolerance:
		v.problem(tkey, "time-stamped %s after the finished_at it claims (%s; the TSA says %s): backdated, or its token was obtained late (the TSA was unreachable)",
			delay.Round(time.Second), snap.FinishedAt.UTC().Format(time.RFC3339), tok.Time.Format(time.RFC3339))
		return false
	case -delay > tolerance:
		v.problem(tkey, "time-stamped %s before the finished_at it claims (%s; the TSA says %s): its times were set forward",
			(-delay).Round(time.Second), snap.FinishedAt.UTC().Format(time.RFC3339), tok.Time.Format(time.RFC3339))
		return false
	}
	return true
}

// reportUncheckedTokens says, once, that tokens were present but not
// checked.
func (v *verifier) reportUncheckedTokens() {
	if n := v.tokens.unchecked; n > 0 {
		v.note(store.EvidencePrefix, "%d snapshot(s) or other object(s) carry an RFC 3161 time-stamp token that was not checked: pass --tsa-certs FILE (the TSA's certificates, obtained from the TSA, not from the store) to check them", n)
	}
}

// checkObjectToken checks the time-stamp token beside an object that is not
// a snapshot (a checkpoint, a key rotation), when one is there: it must
// verify and date the object within the tolerance of the time it claims.
// Such objects need no token, so a missing one is no problem.
func (v *verifier) checkObjectToken(ctx context.Context, key string, b []byte, claimed time.Time) {
	tkey := store.TokenKey(key)
	raw, err := v.st.Get(ctx, tkey)
	switch {
	case errors.Is(err, store.ErrNotExist):
		return
	case err != nil:
		v.problem(tkey, "unreadable: %s", readError(err))
		return
	case v.opts.TSACerts == nil:
		v.tokens.unchecked++
		return
	}
	tok, err := timestamp.Verify(raw, b, v.opts.TSACerts)
	if err != nil {
		v.problem(tkey, "time-stamp token does not verify: %s", EscapeText(err.Error()))
		return
	}
	tolerance := v.opts.TSATolerance
	if tolerance <= 0 {
		tolerance = DefaultTSATolerance
	}
	if d := tok.Time.Sub(claimed); d > tolerance+tok.Accuracy || -d > tolerance+tok.Accuracy {
		v.problem(tkey, "time-stamped %s, but it says it was made %s", tok.Time.Format(time.RFC3339), claimed.UTC().Format(time.RFC3339))
	}
}
