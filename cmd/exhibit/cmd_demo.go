package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// cmdDemo serves a simulated AWS, GitHub and Okta estate on loopback, runs
// the real collectors and SDK clients against it, writes signed evidence to
// a local store, verifies it and prints a per-control summary.
func cmdDemo(ctx context.Context, args []string, s streams) error {
	fs := newFlags("demo", s)
	dir := fs.String("dir", "exhibit-demo", "`directory` for the demo's evidence store and signing key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	con := newConsole(s.err)
	log, err := newLogger(con, "warn")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	awsSim, ghSim, oktaSim := awssim.NewAt(now), ghsim.New(now), oktasim.New(now)
	var urls [3]string
	for i, h := range []http.Handler{awsSim, ghSim, oktaSim} {
		// Fixed ports when free keep scope names (the Okta org's host)
		// stable, so that a second demo chains onto the first.
		u, stop, err := serveLoopback(h, demoPorts[i])
		if err != nil {
			return err
		}
		defer stop()
		urls[i] = u
	}
	// The simulator accepts any signature; these stand in for credentials so
	// that nothing from the environment (or instance metadata) is used.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIADEMODEMODEMO0000",
		"AWS_SECRET_ACCESS_KEY":       "demo-secret-not-a-real-key",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE"} {
		os.Unsetenv(k)
	}

	cfg := config.Defaults()
	cfg.Store = "file://" + filepath.Join(*dir, "evidence")
	cfg.SigningKey = "file://" + filepath.Join(*dir, "signing-key.pem")
	cfg.SpoolDir = filepath.Join(*dir, "spool")
	cfg.Sources.AWS = awsSim.Source(urls[0])
	cfg.Sources.GitHub = ghSim.Source(urls[1])
	cfg.Sources.Okta = oktaSim.Source(urls[2])
	if cfg.Identity, err = demoIdentity(*dir); err != nil {
		return err
	}
	reg := all.Registry()
	for _, typ := range reg.Types() {
		cfg.Collectors = append(cfg.Collectors, config.Collector{Type: typ, ID: typ, Schedule: "@daily", Timeout: 5 * time.Minute,
			ScopeConcurrency: config.DefaultScopeConcurrency})
	}
	if err := cfg.Validate(reg); err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	cat, err := cfg.Catalog()
	if err != nil {
		return err
	}
	w, err := wire(ctx, &cfg, reg, cat, log, nil, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Simulated estate on loopback: AWS %s, GitHub %s, Okta %s\n\n", urls[0], urls[1], urls[2])
	written, err := collectOnce(ctx, w.agent, w.jobs, con)
	printWritten(s.out, written, outputWidth(s.out))
	if err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, w.store, audit.VerifyOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.out)
	printControlSummary(s.out, cat, written)
	fmt.Fprintf(s.out, "\nverify: %d snapshot(s) in %d series, %d problem(s)\n", rep.Snapshots, rep.Series, len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(s.out, "FAIL %s\n", p)
	}
	if !rep.OK() {
		return failed
	}
	printNextSteps(s.out, w.store.String(), written)
	if err := collectionResult(written); err != nil {
		return err
	}
	log.Debug("demo done", zap.Int("snapshots", len(written)))
	return nil
}

// demoMapping joins the demo estate's GitHub logins and IAM user names to
// its Okta people: GitHub records no e-mail, IAM users only a name (erin's
// staging user carries a person tag instead). Identity Center users join
// by themselves (SCIM external ids). mallory is left out on purpose: an
// account nobody owns.
const demoMapping = `# identity.mapping_file of exhibit demo
people:
  - {source: alice@acme.example, github: alice, aws_iam: alice}
  - {source: bob@acme.example, github: bob, aws_iam: bob}
  - {source: carol@acme.example, github: carol, aws_iam: carol}
  - {source: dave@acme.example, github: dave, aws_iam: dave}
  - {source: frank@acme.example, github: frank}
`

// demoIdentity writes the demo's mapping file under dir and declares its
// service accounts.
func demoIdentity(dir string) (collector.Identity, error) {
	path := filepath.Join(dir, "identity-mapping.yaml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return collector.Identity{}, err
	}
	if err := os.WriteFile(path, []byte(demoMapping), 0o644); err != nil {
		return collector.Identity{}, err
	}
	return collector.Identity{MappingFile: path, ServiceAccounts: []collector.ServiceAccount{
		{System: "aws_iam", Account: "ci-deploy", Owner: "platform-team@acme.example", Reason: "deploys build artifacts from CI"},
		{System: "aws_iam", Account: "reporting", Owner: "data-team@acme.example", Reason: "reads generated reports"},
	}}, nil
}

// demoPorts are tried first for the AWS, GitHub and Okta simulators.
var demoPorts = [3]int{19461, 19462, 19463}

// serveLoopback serves h on a loopback port: the preferred one when it is
// free, else any.
func serveLoopback(h http.Handler, port int) (string, func(), error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "simulator:", err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// printControlSummary tallies findings by control reference.
func printControlSummary(w io.Writer, cat *controls.Catalog, written []agent.Written) {
	counts := map[string]map[evidence.Result]int{}
	for _, x := range written {
		for _, f := range x.Snapshot.Findings {
			for _, ref := range f.Controls {
				if counts[ref] == nil {
					counts[ref] = map[evidence.Result]int{}
				}
				counts[ref][f.Status]++
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tPASS\tFAIL\tERROR\tVERDICT\tTITLE")
	for _, c := range cat.Criteria() {
		n := counts[c.Ref]
		verdict := "no evidence"
		switch {
		case !c.InScope:
			verdict = "out of scope"
		case n[evidence.Fail] > 0:
			verdict = "FAILING"
		case n[evidence.Error] > 0:
			verdict = "UNDETERMINED"
		case n[evidence.Pass] > 0:
			verdict = "holding"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", c.Ref, n[evidence.Pass], n[evidence.Fail], n[evidence.Error], verdict, truncate(c.Title, 60))
	}
	tw.Flush()
}

func printNextSteps(w io.Writer, storeURL string, written []agent.Written) {
	if len(written) == 0 {
		return
	}
	self := os.Args[0]
	key := written[0].Key
	root := storeURL[len("file://"):]
	today := time.Now().UTC()
	fmt.Fprintf(w, `
The evidence is in %[1]s. Verify it again at any time:

  %[5]s verify --store %[2]s

see every control day by day in a self-contained HTML page:

  %[5]s report --store %[2]s --from %[6]s --to %[7]s -o report.html

or check one snapshot's signature with nothing but openssl:

  cd %[1]s
  base64 -d %[3]s.sig > /tmp/snapshot.sig.der
  openssl dgst -sha256 -verify keys/%[4]s.pem -signature /tmp/snapshot.sig.der %[3]s
`, root, storeURL, key, written[0].Snapshot.KeyID, self,
		today.AddDate(0, 0, -7).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
