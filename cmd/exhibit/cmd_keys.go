package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/signing/awskms"
)

func cmdKeys(ctx context.Context, args []string, s streams) error {
	if len(args) == 0 {
		return usageErr("keys: want a subcommand: generate or public")
	}
	fs := newFlags("keys "+args[0], s)
	key := fs.String("key", "file://./exhibit-signing.pem", "signing key `URI`: file://PATH or awskms:///KEY-ARN")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "generate":
		// The deliberate way to start a new key, for a store that already
		// has one published: the agent refuses to generate one itself.
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
	case "public":
		var k signing.Signer
		var err error
		switch {
		case strings.HasPrefix(*key, "file://"):
			// Printing a key must never create one.
			k, err = signing.LoadFileKey(strings.TrimPrefix(*key, "file://"))
		case strings.HasPrefix(*key, awskms.Scheme):
			k, err = awskms.Open(ctx, *key)
		default:
			err = fmt.Errorf("--key %q: want file://PATH or awskms:///KEY-ARN", *key)
		}
		if err != nil {
			return usageErr("keys public: %v", err)
		}
		if err := printPublic(ctx, k, s); err != nil {
			// A KMS key that opened but will not give its public key.
			return configErr(fmt.Errorf("keys public: %w", err))
		}
		return nil
	}
	return usageErr("keys: unknown subcommand %q (want generate or public)", args[0])
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
