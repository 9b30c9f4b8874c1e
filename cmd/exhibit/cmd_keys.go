package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/signing/awskms"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// cmdKeys is the keys group: generate, rotate, public.
func cmdKeys(ctx context.Context, args []string, s streams) error {
	return runGroup(ctx, "keys", args, s)
}

// cmdKeysGenerate is the deliberate way to start a new key, for a store
// that already has one published: the agent refuses to generate one itself.
func cmdKeysGenerate(ctx context.Context, args []string, s streams) error {
	fs := newFlags("keys generate", s)
	key := fs.String("key", "file://./exhibit-signing.pem", "signing key `URI`: file://PATH")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*key, "file://")
	if !ok || path == "" {
		return usageErr("keys generate: --key must be file://PATH")
	}
	k, err := signing.GenerateFileKey(path)
	if err != nil {
		return usageErr("keys generate: %v", err)
	}
	fmt.Fprintf(s.err, "wrote %s (mode 0600); the agent publishes its public key to the store when it next starts with signing_key: %s\n", path, *key)
	return printPublic(ctx, k, s)
}

// cmdKeysPublic prints a key's public half; printing a key never creates one.
func cmdKeysPublic(ctx context.Context, args []string, s streams) error {
	fs := newFlags("keys public", s)
	key := fs.String("key", "file://./exhibit-signing.pem", "signing key `URI`: file://PATH or awskms:///KEY-ARN")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k, err := openKey(ctx, *key)
	if err != nil {
		return usageErr("keys public: %v", err)
	}
	if err := printPublic(ctx, k, s); err != nil {
		// A KMS key that opened but will not give its public key.
		return configErr(fmt.Errorf("keys public: %w", err))
	}
	return nil
}

func printPublic(ctx context.Context, k signing.Signer, s streams) error {
	pub, err := k.PublicKey(ctx)
	if err != nil {
		return err
	}
	id, err := signing.KeyID(pub)
	if err != nil {
		return err
	}
	pemBytes, err := signing.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.err, "key id %s\n", id)
	_, err = s.out.Write(pemBytes)
	return err
}

// cmdKeysRotate announces a new signing key in the configured store with a
// statement signed by the key in use (signing_key), and publishes it. The
// operator then points signing_key at the new key and restarts the agent;
// verify accepts the change of key along each series from there on.
func cmdKeysRotate(ctx context.Context, args []string, s streams) error {
	fs := newFlags("keys rotate", s)
	cfgPath := fs.String("c", "exhibit.yaml", "configuration `file`; its signing_key is the key in use")
	to := fs.String("to", "", "the new key `URI`: file://PATH (generated if absent) or awskms:///KEY-ARN (required)")
	reason := fs.String("reason", "", "why the key changes, recorded in the statement for the auditor")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageErr("keys rotate: --to is required")
	}
	cfg, _, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *to == cfg.SigningKey {
		return usageErr("keys rotate: --to is the signing_key already in use")
	}
	current, err := openKey(ctx, cfg.SigningKey)
	if err != nil {
		return configErr(fmt.Errorf("signing_key: %w", err))
	}
	var next signing.Signer
	if path, ok := strings.CutPrefix(*to, "file://"); ok && path != "" {
		k, created, err := signing.LoadOrCreateFileKey(path)
		if err != nil {
			return usageErr("keys rotate: --to: %v", err)
		}
		if created {
			fmt.Fprintf(s.err, "generated %s (mode 0600)\n", path)
		}
		next = k
	} else if next, err = openKey(ctx, *to); err != nil {
		return usageErr("keys rotate: --to: %v", err)
	}
	opened, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	st := store.WithTimeout(opened, cfg.StoreOptions.Timeout)
	transport, err := baseTransport()
	if err != nil {
		return configErr(err)
	}
	r, err := agent.Rotate(ctx, st, current, next, timestamper(cfg, transport), *reason, time.Now())
	if err != nil {
		return configErr(fmt.Errorf("keys rotate: %w", err))
	}
	fmt.Fprintf(s.out, "rotated %s: key %s announces key %s (%s); set signing_key: %s and restart the agent\n",
		st, r.From, r.To, store.RotationKey(r.To), *to)
	return nil
}

// openKey opens an existing key, never creating one.
func openKey(ctx context.Context, uri string) (signing.Signer, error) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		return signing.LoadFileKey(strings.TrimPrefix(uri, "file://"))
	case strings.HasPrefix(uri, awskms.Scheme):
		return awskms.Open(ctx, uri)
	}
	return nil, fmt.Errorf("%q: want file://PATH or awskms:///KEY-ARN", uri)
}
