package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/store/storeurl"
)

// tsaCheckTimeout bounds the one request to the TSA.
const tsaCheckTimeout = 30 * time.Second

// checkItem is one line of exhibit check's report.
type checkItem struct {
	// Area is what was checked: config, secrets, a collector's id, store,
	// signing_key or timestamp_authority.
	Area   string                `json:"area"`
	Scope  string                `json:"scope,omitempty"`
	Check  string                `json:"check"`
	Status collector.ProbeStatus `json:"status"`
	Detail string                `json:"detail,omitempty"`
}

type checkReport struct {
	Config string         `json:"config"`
	OK     bool           `json:"ok"`
	Counts map[string]int `json:"counts"`
	Items  []checkItem    `json:"items"`
}

func (r *checkReport) add(area, scope, check string, st collector.ProbeStatus, detail string) {
	r.Items = append(r.Items, checkItem{Area: area, Scope: scope, Check: check, Status: st, Detail: detail})
}

func (r *checkReport) errorf(area, check string, err error) {
	r.add(area, "", check, collector.ProbeError, err.Error())
}

// cmdCheck checks a configuration and everything it reaches, writing
// nothing to the store: the configuration and its secrets, every
// collector's access through its probe, the store, the signing key against
// the keys published in the store, and the TSA.
func cmdCheck(ctx context.Context, args []string, s streams) error {
	fs := newFlags("check", s)
	cfgPath := fs.String("c", "exhibit.yaml", "configuration `file`")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	all := fs.Bool("all", false, "list every check in the table, not only those that failed or were not probed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rep := &checkReport{Config: *cfgPath}
	cfg, reg, _, err := loadConfig(*cfgPath)
	if err != nil {
		// Every problem at once, as config loading reports them.
		for _, line := range strings.Split(errors.Unwrap(err).Error(), "\n") {
			rep.add("config", "", "valid", collector.ProbeError, line)
		}
		if *asJSON {
			printCheckJSON(s.out, rep)
		}
		return err
	}
	rep.add("config", "", "valid", collector.ProbeOK, fmt.Sprintf("%d collector(s)", len(cfg.Collectors)))
	checkSecrets(rep, cfg)

	log := zap.NewNop()
	transport, err := baseTransport()
	if err != nil {
		return configErr(err)
	}
	for i, c := range cfg.Collectors {
		f, _ := reg.Lookup(c.Type)
		coll, err := f.New(collector.Settings{
			ID: c.ID, Sources: cfg.Sources, Thresholds: cfg.Thresholds,
			HTTPClient: collector.NewHTTPClient(transport), Logger: log.Named(c.ID),
		})
		if err != nil {
			rep.errorf(c.ID, "configure", fmt.Errorf("collectors[%d] (%s): %w", i, c.ID, err))
			continue
		}
		p, ok := coll.(collector.Prober)
		if !ok {
			rep.add(c.ID, "", "access", collector.ProbeNotProbed, c.Type+" offers no probe; its first run shows what it can read")
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, c.Timeout)
		for _, r := range p.Probe(pctx, f.Permissions) {
			rep.add(c.ID, r.Scope, r.Permission, r.Status, r.Detail)
		}
		cancel()
	}
	st, s3st := checkStore(ctx, rep, cfg)
	checkSigningKey(ctx, rep, cfg, st, s3st)
	if tsa := timestamper(cfg, transport); tsa != nil {
		// A throwaway digest: the token is checked for being given, and
		// dropped.
		sum := sha256.Sum256([]byte("exhibit check " + cfg.TimestampAuthority))
		tctx, cancel := context.WithTimeout(ctx, tsaCheckTimeout)
		tok, err := tsa.Stamp(tctx, sum[:])
		cancel()
		if err != nil {
			rep.errorf("timestamp_authority", "token", err)
		} else {
			rep.add("timestamp_authority", cfg.TimestampAuthority, "token", collector.ProbeOK, fmt.Sprintf("a %d-byte token for a throwaway digest (not stored)", len(tok)))
		}
	}
	if ctx.Err() != nil {
		return &exitError{code: 1, err: fmt.Errorf("interrupted: the check is incomplete: %w", context.Cause(ctx))}
	}

	rep.Counts = map[string]int{}
	rep.OK = true
	for _, it := range rep.Items {
		rep.Counts[string(it.Status)]++
		if it.Status == collector.ProbeDenied || it.Status == collector.ProbeError {
			rep.OK = false
		}
	}
	if *asJSON {
		printCheckJSON(s.out, rep)
	} else {
		printCheckTable(s.out, rep, *all, outputWidth(s.out))
	}
	if !rep.OK {
		return &exitError{code: 1, err: fmt.Errorf("check: %d denied, %d failed: a collector would not read everything it needs", rep.Counts[string(collector.ProbeDenied)], rep.Counts[string(collector.ProbeError)])}
	}
	return nil
}

// checkSecrets lists every secret the configuration holds: resolved by
// loading (an unset ${VAR} or unreadable file: is a configuration error),
// never printed.
func checkSecrets(rep *checkReport, cfg *config.Config) {
	secret := func(path string, v collector.Secret) {
		if v != "" {
			rep.add("secrets", "", path, collector.ProbeOK, "resolved; the value is not shown")
		}
	}
	keyFile := func(path, file string) {
		if file == "" {
			return
		}
		fi, err := os.Stat(file)
		switch {
		case err != nil:
			rep.add("secrets", "", path, collector.ProbeError, unwrapPath(err).Error()+": "+file)
		case !fi.Mode().IsRegular():
			rep.add("secrets", "", path, collector.ProbeError, file+" is not a regular file")
		default:
			rep.add("secrets", "", path, collector.ProbeOK, file+" is readable; its content is not shown")
		}
	}
	if a := cfg.Sources.AWS; a != nil {
		secret("sources.aws.external_id", a.ExternalID)
		for i, acc := range a.Accounts {
			secret(fmt.Sprintf("sources.aws.accounts[%d].external_id", i), acc.ExternalID)
		}
	}
	if g := cfg.Sources.GitHub; g != nil {
		secret("sources.github.token", g.Token)
		keyFile("sources.github.private_key_file", g.PrivateKeyFile)
	}
	if o := cfg.Sources.Okta; o != nil {
		secret("sources.okta.token", o.Token)
		keyFile("sources.okta.private_key_file", o.PrivateKeyFile)
	}
}

// checkStore opens the store for reading only and checks what the agent
// needs of it. It returns the store, nil when it cannot be read, and the
// S3 store under it for an s3:// store.
func checkStore(ctx context.Context, rep *checkReport, cfg *config.Config) (store.Store, *s3store.Store) {
	so := cfg.StoreOptions
	where := audit.Escape(cfg.Store)
	if strings.HasPrefix(cfg.Store, "file://") {
		dir := storeurl.FilePath(cfg.Store)
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			parent := existingParent(dir)
			if err := writable(parent); err != nil {
				rep.add("store", where, "writable", collector.ProbeError, fmt.Sprintf("%s does not exist, and %s is not writable to create it: %v", dir, parent, err))
			} else {
				rep.add("store", where, "writable", collector.ProbeOK, fmt.Sprintf("%s does not exist yet; the first collect creates it in %s (writable)", dir, parent))
			}
			return nil, nil
		case err != nil:
			rep.errorf("store", "reachable", err)
			return nil, nil
		case !fi.IsDir():
			rep.add("store", where, "reachable", collector.ProbeError, dir+" is not a directory")
			return nil, nil
		}
		if err := writable(dir); err != nil {
			rep.add("store", where, "writable", collector.ProbeError, err.Error())
		} else {
			rep.add("store", where, "writable", collector.ProbeOK, "the directory is writable (access(2) W_OK; nothing written)")
		}
		rep.add("store", where, "write-once", collector.ProbeOK, "a local directory is not write-once; for evidence an auditor relies on, use s3:// with Object Lock")
		st, err := storeurl.OpenWith(ctx, cfg.Store, storeurl.Options{Mode: storeurl.ReadOnly})
		if err != nil {
			rep.errorf("store", "reachable", err)
			return nil, nil
		}
		return store.WithTimeout(st, so.Timeout), nil
	}

	opened, err := storeurl.OpenWith(ctx, cfg.Store, storeurl.Options{
		Mode: storeurl.ReadOnly,
		S3: s3store.Options{Region: so.Region, Endpoint: so.Endpoint,
			ObjectLockMode: so.ObjectLockMode, RetainDays: so.RetainDays, SSEKMSKey: so.SSEKMSKey},
	})
	if err != nil {
		rep.errorf("store", "reachable", err)
		return nil, nil
	}
	s3st, ok := opened.(*s3store.Store)
	if !ok {
		rep.add("store", where, "reachable", collector.ProbeNotProbed, "not an S3 store")
		return opened, nil
	}
	bctx, cancel := context.WithTimeout(ctx, so.Timeout)
	defer cancel()
	state, err := s3st.CheckBucket(bctx)
	if err != nil {
		rep.add("store", where, "s3:GetBucketVersioning, s3:GetBucketObjectLockConfiguration", classifyStatus(err), err.Error())
		return nil, nil
	}
	rep.add("store", where, "reachable", collector.ProbeOK, "bucket "+s3st.Bucket()+" answered")
	lockDetail := fmt.Sprintf("versioning %s, object lock %t", orNone(state.Versioning), state.ObjectLock)
	if state.DefaultMode != "" {
		lockDetail += fmt.Sprintf(", default retention %s %d day(s)", state.DefaultMode, state.DefaultDays)
	}
	switch err := s3st.RequireLocked(state); {
	case err == nil:
		rep.add("store", where, "write-once", collector.ProbeOK, lockDetail)
	case so.AcceptUnlockedBucket:
		rep.add("store", where, "write-once", collector.ProbeOK, "accepted by store_options.accept_unlocked_bucket, and recorded in every snapshot: "+err.Error())
	default:
		rep.add("store", where, "write-once", collector.ProbeError, err.Error())
	}
	st := store.WithTimeout(s3st, so.Timeout)
	if _, err := publishedKey(ctx, st); err != nil {
		rep.add("store", where, "s3:ListBucket", classifyStatus(err), err.Error())
		return nil, nil
	}
	rep.add("store", where, "s3:ListBucket", collector.ProbeOK, "listed "+store.KeysPrefix)
	return st, s3st
}

// probeStoreWrite checks that the agent may write to an S3 store without
// writing: the store's own probe, a conditional PUT of an object already
// there, which the store refuses for existing.
func probeStoreWrite(ctx context.Context, rep *checkReport, cfg *config.Config, s3st *s3store.Store, key string) {
	if s3st == nil {
		return
	}
	where := audit.Escape(cfg.Store)
	if key == "" {
		rep.add("store", where, "s3:PutObject", collector.ProbeNotProbed,
			"the store holds no published key yet to aim a refused conditional write at, and check writes nothing; the first collect publishes the key and shows whether the write is allowed")
		return
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.StoreOptions.Timeout)
	defer cancel()
	if err := s3st.ProbeWrite(pctx, key); err != nil {
		rep.add("store", where, "s3:PutObject", classifyStatus(err), err.Error())
		return
	}
	detail := "a conditional PUT of " + key + " with its own bytes was refused for existing (412), after S3 authorized it; nothing was written"
	if s3st.SSEKMSKey() != "" {
		detail += "; whether the SSE-KMS key encrypts is not shown by it"
	}
	rep.add("store", where, "s3:PutObject", collector.ProbeOK, detail)
}

// checkSigningKey opens the signing key without ever creating one, signs a
// throwaway digest with it, and compares it with the keys the store has
// published.
func checkSigningKey(ctx context.Context, rep *checkReport, cfg *config.Config, st store.Store, s3st *s3store.Store) {
	var published []string
	if st != nil {
		err := st.List(ctx, store.KeysPrefix, "", func(key string) error {
			if strings.HasSuffix(key, ".pem") && !strings.Contains(strings.TrimPrefix(key, store.KeysPrefix), "/") {
				published = append(published, key)
			}
			return nil
		})
		if err != nil {
			rep.errorf("signing_key", "published keys", err)
			return
		}
	}
	k, err := openKey(ctx, cfg.SigningKey)
	if err != nil {
		path, isFile := strings.CutPrefix(cfg.SigningKey, "file://")
		switch {
		case isFile && errors.Is(err, fs.ErrNotExist) && len(published) == 0:
			rep.add("signing_key", cfg.SigningKey, "key", collector.ProbeOK, path+" does not exist; the first collect generates it and publishes its public key (the store has none yet)")
		case isFile && errors.Is(err, fs.ErrNotExist) && len(published) > 0:
			rep.add("signing_key", cfg.SigningKey, "key", collector.ProbeError, fmt.Sprintf("%s does not exist, but the store already has published keys (%s): fix the path or restore the key file", path, strings.Join(published, ", ")))
		default:
			rep.errorf("signing_key", "key", err)
		}
		probeStoreWrite(ctx, rep, cfg, s3st, firstOf(published))
		return
	}
	pub, err := k.PublicKey(ctx)
	if err != nil {
		rep.errorf("signing_key", "public key", err)
		return
	}
	id, err := signing.KeyID(pub)
	if err != nil {
		rep.errorf("signing_key", "public key", err)
		return
	}
	msg := []byte("exhibit check: a throwaway message, never stored")
	sig, err := k.Sign(ctx, msg)
	if err == nil {
		err = signing.Verify(pub, msg, sig)
	}
	if err != nil {
		rep.add("signing_key", cfg.SigningKey, "sign", classifyStatus(err), err.Error())
	} else {
		rep.add("signing_key", cfg.SigningKey, "sign", collector.ProbeOK, "key id "+id+"; signed and verified a throwaway message")
	}
	if st == nil {
		return
	}
	own := store.PublicKeyKey(id)
	mine, err := signing.MarshalPublicKey(pub)
	if err != nil {
		rep.errorf("signing_key", "published", err)
		return
	}
	switch {
	case contains(published, own):
		got, err := st.Get(ctx, own)
		switch {
		case err != nil:
			rep.errorf("signing_key", "published", err)
		case !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(mine)):
			rep.add("signing_key", cfg.SigningKey, "published", collector.ProbeError, own+" in the store is not this key's public half")
		default:
			rep.add("signing_key", cfg.SigningKey, "published", collector.ProbeOK, own+" matches the signing key")
		}
		probeStoreWrite(ctx, rep, cfg, s3st, own)
	case len(published) == 0:
		rep.add("signing_key", cfg.SigningKey, "published", collector.ProbeOK, "the store has no published key yet; the first collect publishes "+own)
		probeStoreWrite(ctx, rep, cfg, s3st, "")
	default:
		rep.add("signing_key", cfg.SigningKey, "published", collector.ProbeError, fmt.Sprintf(
			"the store's published keys (%s) do not include this key (%s): evidence there is signed with another key; restore that key, or change keys deliberately with exhibit keys rotate", strings.Join(published, ", "), own))
		probeStoreWrite(ctx, rep, cfg, s3st, published[0])
	}
}

func firstOf(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

func orNone(s string) string {
	if s == "" {
		return "never enabled"
	}
	return strings.ToLower(s)
}

// classifyStatus is denied for an access refusal, else error.
func classifyStatus(err error) collector.ProbeStatus {
	msg := err.Error()
	if strings.Contains(msg, "AccessDenied") || strings.Contains(msg, "StatusCode: 403") {
		return collector.ProbeDenied
	}
	return collector.ProbeError
}

func existingParent(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for {
		if _, err := os.Stat(abs); err == nil {
			return abs
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return abs
		}
		abs = parent
	}
}

// writable asks the kernel whether this process may create files in dir,
// without creating one.
func writable(dir string) error {
	if err := syscall.Access(dir, 0x2 /* W_OK */); err != nil {
		return fmt.Errorf("%s: not writable: %w", dir, err)
	}
	return nil
}

func printCheckJSON(w io.Writer, rep *checkReport) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep) //nolint:errcheck // a broken stdout shows in the exit status of the pipe
}

func printCheckTable(w io.Writer, rep *checkReport, all bool, width int) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AREA\tSCOPE\tCHECK\tSTATUS\tDETAIL")
	type tally struct{ ok, denied, failed, notProbed int }
	tallies := map[string]*tally{}
	var order []string
	for _, it := range rep.Items {
		t := tallies[it.Area]
		if t == nil {
			t = &tally{}
			tallies[it.Area] = t
			order = append(order, it.Area)
		}
		switch it.Status {
		case collector.ProbeOK:
			t.ok++
		case collector.ProbeDenied:
			t.denied++
		case collector.ProbeError:
			t.failed++
		default:
			t.notProbed++
		}
		// A collector's lines that passed, or had nothing to probe, are
		// counted below; --all lists them.
		collectorLine := !slices.Contains([]string{"config", "secrets", "store", "signing_key", "timestamp_authority"}, it.Area)
		if collectorLine && !all && (it.Status == collector.ProbeOK || it.Status == collector.ProbeNotProbed) {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", audit.Escape(it.Area), audit.EscapeText(it.Scope), audit.EscapeText(it.Check), it.Status, audit.EscapeText(it.Detail))
	}
	tw.Flush()
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimRight(cut(l, width), " "))
	}
	fmt.Fprintln(w)
	for _, area := range order {
		t := tallies[area]
		fmt.Fprintf(w, "%s: %d ok, %d denied, %d failed, %d not probed\n", audit.Escape(area), t.ok, t.denied, t.failed, t.notProbed)
	}
	if !all {
		fmt.Fprintln(w, "(--all lists every line, with why each not probed was not; --json gives them all)")
	}
	if rep.OK {
		fmt.Fprintln(w, "\ncheck passed: every configured collector reached its source; nothing was written to the store")
	} else {
		fmt.Fprintln(w, "\ncheck FAILED: see the denied and failed lines above; nothing was written to the store")
	}
}
