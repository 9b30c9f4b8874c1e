package main

import (
	"context"
	"flag"

	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/store/storeurl"
)

// storeFlags are the flags of every command that reads evidence: the store
// and, for an s3:// store, where to reach it. They need no agent config.
type storeFlags struct {
	url, region, endpoint *string
}

func addStoreFlags(fs *flag.FlagSet, purpose string) storeFlags {
	return storeFlags{
		url:      fs.String("store", "", "the store to "+purpose+": file://PATH or s3://BUCKET/PREFIX (required)"),
		region:   fs.String("region", "", "the s3:// store's `region` (default: the AWS SDK's, e.g. AWS_REGION)"),
		endpoint: fs.String("endpoint", "", "an S3-compatible `URL` for the s3:// store (path-style requests)"),
	}
}

// open opens the store read-only; the command needs no write access.
func (f storeFlags) open(ctx context.Context, cmd string) (store.Store, error) {
	if *f.url == "" {
		return nil, usageErr("%s: --store is required", cmd)
	}
	st, err := storeurl.OpenWith(ctx, *f.url, storeurl.Options{
		Mode: storeurl.ReadOnly,
		S3:   s3store.Options{Region: *f.region, Endpoint: *f.endpoint},
	})
	if err != nil {
		return nil, usageErr("%s: %v", cmd, err)
	}
	return st, nil
}

// args repeats the flags as given, for a command line printed for the
// auditor to run again.
func (f storeFlags) args() []string {
	a := []string{"--store", *f.url}
	if *f.region != "" {
		a = append(a, "--region", *f.region)
	}
	if *f.endpoint != "" {
		a = append(a, "--endpoint", *f.endpoint)
	}
	return a
}
