package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The key layout. A series' snapshots sit under one prefix, numbered by seq,
// so that the create-exclusive write of the next number decides which writer
// owns it. A date index lets readers list a period without reading the whole
// store.
//
//	evidence/<collector id>/<scope>/<seq>.json      the snapshot (canonical JSON)
//	evidence/<collector id>/<scope>/<seq>.json.sig  base64 DER ECDSA signature
//	evidence/<collector id>/<scope>/<seq>.json.tsr  RFC 3161 time-stamp response, when a TSA is configured
//	index/<YYYY-MM-DD>/<collector id>/<scope>/<seq> empty marker, by start date
//	attachments/sha256/<hex>                        raw artefacts, content-addressed
//	keys/<key id>.pem                               published public keys
//	keys/rotations/<new key id>.json(.sig)          a new key, announced and signed by the previous one
//	checkpoints/<YYYY-MM-DD>/<id>.json(.sig)        the agent's signed checkpoints
const (
	EvidencePrefix   = "evidence/"
	IndexPrefix      = "index/"
	AttachmentPrefix = "attachments/sha256/"
	KeysPrefix       = "keys/"
	CheckpointPrefix = "checkpoints/"
)

const seqWidth = 12

// SnapshotKey is where a series' snapshot number seq is stored.
func SnapshotKey(series string, seq int64) string {
	return fmt.Sprintf("%s%s/%0*d.json", EvidencePrefix, series, seqWidth, seq)
}

// SignatureKey is where the signature of the object at key is stored.
func SignatureKey(key string) string { return key + ".sig" }

// TokenKey is where the RFC 3161 time-stamp token of the object at key is
// stored: the TSA's whole response, DER.
func TokenKey(key string) string { return key + ".tsr" }

// SeriesPrefix is the prefix under which a series' snapshots are listed.
func SeriesPrefix(series string) string { return EvidencePrefix + series + "/" }

// IndexKey is the date-index marker of a snapshot started at t.
func IndexKey(t time.Time, series string, seq int64) string {
	return fmt.Sprintf("%s%s/%s/%0*d", IndexPrefix, t.UTC().Format(time.DateOnly), series, seqWidth, seq)
}

// IndexDayPrefix lists one day's markers.
func IndexDayPrefix(day time.Time) string {
	return IndexPrefix + day.UTC().Format(time.DateOnly) + "/"
}

// AttachmentKey is where the artefact with this hex SHA-256 is stored.
func AttachmentKey(sha256hex string) string { return AttachmentPrefix + sha256hex }

// PublicKeyKey is where a public key is published.
func PublicKeyKey(keyID string) string { return KeysPrefix + keyID + ".pem" }

// RotationsPrefix holds the key rotation statements.
const RotationsPrefix = KeysPrefix + "rotations/"

// RotationKey is where the statement announcing the key toKeyID is stored.
func RotationKey(toKeyID string) string { return RotationsPrefix + toKeyID + ".json" }

// CheckpointKey is where the agent stores a checkpoint taken at t.
func CheckpointKey(t time.Time, id string) string {
	return CheckpointPrefix + t.UTC().Format(time.DateOnly) + "/" + id + ".json"
}

// ParseCheckpointKey reports whether key names a stored checkpoint.
func ParseCheckpointKey(key string) (day time.Time, id string, ok bool) {
	rest, found := strings.CutPrefix(key, CheckpointPrefix)
	if !found {
		return time.Time{}, "", false
	}
	d, name, found := strings.Cut(rest, "/")
	if !found {
		return time.Time{}, "", false
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return time.Time{}, "", false
	}
	id, found = strings.CutSuffix(name, ".json")
	if !found || id == "" || strings.Contains(id, "/") {
		return time.Time{}, "", false
	}
	return t, id, true
}

// ParseSnapshotKey splits a snapshot key into its series and seq. Only the
// form SnapshotKey writes is accepted; whether the series is a name the
// agent writes is for the caller to check (evidence.ValidSeries).
func ParseSnapshotKey(key string) (series string, seq int64, ok bool) {
	rest, found := strings.CutPrefix(key, EvidencePrefix)
	if !found {
		return "", 0, false
	}
	rest, found = strings.CutSuffix(rest, ".json")
	if !found {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 || strings.Count(rest, "/") != 2 {
		return "", 0, false
	}
	n, ok := parseSeq(rest[i+1:])
	if !ok {
		return "", 0, false
	}
	return rest[:i], n, true
}

// ParseIndexKey splits a date-index key into day, series and seq. Only the
// form IndexKey writes is accepted, so that IndexKey gives the key back.
func ParseIndexKey(key string) (day time.Time, series string, seq int64, ok bool) {
	rest, found := strings.CutPrefix(key, IndexPrefix)
	if !found {
		return time.Time{}, "", 0, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return time.Time{}, "", 0, false
	}
	d, err := time.Parse(time.DateOnly, parts[0])
	if err != nil || d.Format(time.DateOnly) != parts[0] {
		return time.Time{}, "", 0, false
	}
	n, ok := parseSeq(parts[3])
	if !ok {
		return time.Time{}, "", 0, false
	}
	return d, parts[1] + "/" + parts[2], n, true
}

// parseSeq reads a seq as the layout writes it: exactly seqWidth digits
// (no sign), 1 or more.
func parseSeq(s string) (int64, bool) {
	if len(s) != seqWidth || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1
}
