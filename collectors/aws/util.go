package awscollector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	smithy "github.com/aws/smithy-go"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// forEach runs fn for every item with at most n running at once.
func forEach[T any](ctx context.Context, n int, items []T, fn func(ctx context.Context, item T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}

// partition returns the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// apiErrorCode returns the service's error code, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// accountARN names an account as a whole: its root principal.
func accountARN(part, id string) string {
	return fmt.Sprintf("arn:%s:iam::%s:root", part, id)
}

// where names the place a run error happened: account, region, resource.
func where(account, region, resource string) string {
	w := "account/" + account
	if region != "" {
		w += "/region/" + region
	}
	if resource != "" {
		w += "/" + resource
	}
	return w
}

// runTime is the run's reference time, against which ages are measured.
func runTime(req collector.Request) time.Time {
	if req.Now.IsZero() {
		return time.Now().UTC()
	}
	return req.Now
}

// notRead is the error for work the run never got to: its context ended
// before every region or resource was read.
func notRead(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not read before the run ended: %w", err)
	}
	return errors.New("not read")
}
