package audit

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Key continuity. A snapshot's signature says which key signed it, not
// whether that key had any business signing evidence in this store: an
// insider can publish a key of their own and re-sign. Every key after the
// first must be announced by a rotation statement signed with a key that
// came before it (agent.Rotate, exhibit keys rotate); a series whose
// signatures change key without one, or a key nothing announced, is a
// problem. An auditor who pins a key with --key trusts it, and the keys it
// (transitively) announced.

// keyLedger is what verify learns of keys: the rotations that hold, and per
// key what it signed.
type keyLedger struct {
	// next maps a key id to the ids it announced by a valid statement.
	next map[string][]string
	// announced holds every key id a valid statement introduced.
	announced map[string]time.Time
	// spans per key id: per series, the first and last seq it signed.
	spans map[string]map[string]*seqSpan
	// earliest is, per key id, the earliest started_at of what it signed.
	earliest map[string]time.Time
	// last key id seen in each series.
	last map[string]string
}

type seqSpan struct{ first, last int64 }

// loadRotations reads every rotation statement, keeps those signed by the
// key they rotate from (a published or trusted key), and widens the trusted
// keys to the keys the pinned ones announced.
func (v *verifier) loadRotations(ctx context.Context, published map[string]*ecdsa.PublicKey) error {
	l := &keyLedger{next: map[string][]string{}, announced: map[string]time.Time{},
		spans: map[string]map[string]*seqSpan{}, earliest: map[string]time.Time{}, last: map[string]string{}}
	v.ledger = l
	type statement struct {
		key string
		r   *evidence.Rotation
		b   []byte
		sig []byte
	}
	var all []statement
	for _, key := range v.inv.rotations {
		if base, ok := strings.CutSuffix(key, ".sig"); ok && isRotationKey(base) {
			continue // read with its statement
		}
		if base, ok := strings.CutSuffix(key, ".tsr"); ok && isRotationKey(base) {
			continue // read with its statement
		}
		if !isRotationKey(key) {
			v.problem(key, "unexpected object among key rotations")
			continue
		}
		b, err := v.st.Get(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.problem(key, "unreadable: %s", readError(err))
			continue
		}
		r, err := evidence.ParseRotation(b)
		if err != nil {
			v.problem(key, "altered or corrupt key rotation: %s", EscapeText(err.Error()))
			continue
		}
		if store.RotationKey(r.To) != key {
			v.problem(key, "stored under the wrong name: it announces key %s", short(r.To))
			continue
		}
		raw, err := v.st.Get(ctx, store.SignatureKey(key))
		if err != nil {
			v.problem(store.SignatureKey(key), "key rotation without a readable signature: %s", readError(err))
			continue
		}
		all = append(all, statement{key, r, b, raw})
	}
	slices.SortFunc(all, func(a, b statement) int { return a.r.At.Compare(b.r.At) })
	for _, s := range all {
		pub := published[s.r.From]
		if pub == nil {
			pub = v.keys[s.r.From]
		}
		if pub == nil {
			v.problem(s.key, "announces key %s in the name of key %s, which is not published", short(s.r.To), short(s.r.From))
			continue
		}
		der, err := signing.DecodeSignature(s.sig)
		if err != nil || signing.Verify(pub, s.b, der) != nil {
			v.problem(store.SignatureKey(s.key), "the key rotation is not signed by the key it rotates from (%s)", short(s.r.From))
			continue
		}
		v.checkObjectToken(ctx, s.key, s.b, s.r.At)
		l.next[s.r.From] = append(l.next[s.r.From], s.r.To)
		l.announced[s.r.To] = s.r.At
	}
	if len(v.opts.TrustedKeys) == 0 {
		return nil
	}
	// Trust flows from the pinned keys along the statements they signed.
	queue := slices.Sorted(maps.Keys(v.keys))
	for len(queue) > 0 {
		from := queue[0]
		queue = queue[1:]
		for _, to := range l.next[from] {
			if _, ok := v.keys[to]; ok {
				continue
			}
			pub := published[to]
			if pub == nil {
				v.problem(store.RotationKey(to), "announces key %s, which is not published", short(to))
				continue
			}
			v.keys[to] = pub
			v.note(store.PublicKeyKey(to), "trusted: announced on %s by key %s, which is trusted", l.announced[to].UTC().Format(time.RFC3339), short(from))
			queue = append(queue, to)
		}
	}
	return nil
}

func isRotationKey(key string) bool {
	id, ok := strings.CutSuffix(strings.TrimPrefix(key, store.RotationsPrefix), ".json")
	return ok && strings.HasPrefix(key, store.RotationsPrefix) && isDigest(id)
}

// follows reports whether key to was announced, directly or through other
// statements, by key from.
func (l *keyLedger) follows(from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, n := range l.next[k] {
			if n == to {
				return true
			}
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return false
}

// signedBy records that a readable snapshot was signed by its key, and
// reports a change of key along a series that no statement announced.
func (v *verifier) signedBy(key string, snap *evidence.Snapshot) {
	l := v.ledger
	id := snap.KeyID
	if prev, ok := l.last[snap.Series]; ok && prev != id && !l.follows(prev, id) {
		v.problem(key, "the series changes signing key here, from %s to %s, and no rotation statement signed by %s announces it (exhibit keys rotate)",
			short(prev), short(id), short(prev))
	}
	l.last[snap.Series] = id
	if l.spans[id] == nil {
		l.spans[id] = map[string]*seqSpan{}
	}
	if sp := l.spans[id][snap.Series]; sp == nil {
		l.spans[id][snap.Series] = &seqSpan{snap.Seq, snap.Seq}
	} else {
		sp.first, sp.last = min(sp.first, snap.Seq), max(sp.last, snap.Seq)
	}
	if e, ok := l.earliest[id]; !ok || snap.StartedAt.Before(e) {
		l.earliest[id] = snap.StartedAt
	}
}

// keyContinuity reports which keys signed which spans, and, where no key is
// pinned, every signing key beyond the first that no statement announced.
func (v *verifier) keyContinuity() {
	l := v.ledger
	ids := slices.Sorted(maps.Keys(l.spans))
	for _, id := range ids {
		var parts []string
		for _, series := range slices.Sorted(maps.Keys(l.spans[id])) {
			sp := l.spans[id][series]
			if sp.first == sp.last {
				parts = append(parts, fmt.Sprintf("%s seq %d", series, sp.first))
			} else {
				parts = append(parts, fmt.Sprintf("%s seqs %d–%d", series, sp.first, sp.last))
			}
		}
		v.note(store.PublicKeyKey(id), "signed %s", strings.Join(parts, "; "))
	}
	if len(v.opts.TrustedKeys) > 0 {
		return // keys outside the trusted ones are already problems
	}
	// The first key is the one that signed the earliest evidence; every
	// other key that signed anything must have been announced.
	var unannounced []string
	for _, id := range ids {
		if _, ok := l.announced[id]; !ok {
			unannounced = append(unannounced, id)
		}
	}
	if len(unannounced) < 2 {
		return
	}
	first := unannounced[0]
	for _, id := range unannounced[1:] {
		if l.earliest[id].Before(l.earliest[first]) {
			first = id
		}
	}
	for _, id := range unannounced {
		if id != first {
			v.problem(store.PublicKeyKey(id), "signs evidence, but no rotation statement signed by an earlier key announces it (the store's first key is %s): a key that appeared without notice",
				short(first))
		}
	}
}
