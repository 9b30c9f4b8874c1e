package awscollector

import (
	"context"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// customEndpoint reports whether calls go somewhere other than AWS's own
// endpoints, in which case S3 needs path-style addressing.
func (s *session) customEndpoint(cfg aws.Config, serviceEnv string) bool {
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return true
	}
	return os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv(serviceEnv) != ""
}

// endpoint is the configured override for every service, or nil to leave
// the SDK's own resolution (AWS_ENDPOINT_URL*) alone.
func (s *session) endpoint() *string {
	if s.src.Endpoint != "" {
		return aws.String(s.src.Endpoint)
	}
	return nil
}

// s3Client returns an S3 client for region, path-style when calls go to a
// custom endpoint (S3-compatible stores and emulators rarely serve
// virtual-hosted buckets).
func (s *session) s3Client(cfg aws.Config, region string) *s3.Client {
	custom := s.customEndpoint(cfg, "AWS_ENDPOINT_URL_S3")
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.Region = region
		if ep := s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
		o.UsePathStyle = o.UsePathStyle || custom
	})
}

// s3ControlClient returns an S3 Control client. AWS's endpoint rules put
// the account id in front of the host name; a custom endpoint (an emulator,
// this project's simulator) has no such sub-domains, so there the prefix is
// removed before signing and the account travels in x-amz-account-id alone.
func (s *session) s3ControlClient(cfg aws.Config) *s3control.Client {
	custom := s.customEndpoint(cfg, "AWS_ENDPOINT_URL_S3_CONTROL")
	return s3control.NewFromConfig(cfg, func(o *s3control.Options) {
		if ep := s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
		if custom {
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				return st.Finalize.Insert(stripAccountHost{}, "Signing", middleware.Before)
			})
		}
	})
}

type stripAccountHost struct{}

func (stripAccountHost) ID() string { return "ExhibitStripAccountHost" }

func (stripAccountHost) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if acct := req.Header.Get("X-Amz-Account-Id"); acct != "" {
			req.URL.Host = strings.TrimPrefix(req.URL.Host, acct+".")
			req.Host = strings.TrimPrefix(req.Host, acct+".")
		}
	}
	return next.HandleFinalize(ctx, in)
}
