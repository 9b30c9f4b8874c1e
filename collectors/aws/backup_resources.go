package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
)

// protectedState is one resource AWS Backup holds a recovery point of,
// with its last backup time: the bulk form, so recovery points are never
// listed per resource.
type protectedState struct {
	region string
	p      bktypes.ProtectedResource
}

// taggedResource is a resource tagged as holding ePHI, with all its tags.
type taggedResource struct {
	arn, region string
	tags        map[string]string
}

func listProtected(ctx context.Context, api backupAPI, region string) ([]protectedState, error) {
	var got []protectedState
	p := backup.NewListProtectedResourcesPaginator(api, &backup.ListProtectedResourcesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list protected resources: %w", err)
		}
		for _, r := range page.Results {
			got = append(got, protectedState{region: region, p: r})
		}
	}
	return got, nil
}

// backupResourceTypes are the Resource Groups Tagging API types of the
// resources AWS Backup can protect: only those are expected in a plan.
var backupResourceTypes = []string{
	"cloudformation:stack", "dynamodb:table", "ec2:instance", "ec2:volume", "elasticfilesystem:file-system",
	"fsx:file-system", "rds:cluster", "rds:db", "redshift:cluster", "s3", "storagegateway:gateway", "timestream:table",
}

// listTagged finds the region's resources that phi_tags mark as holding
// ePHI: one paginated GetResources per configured tag key (the API ANDs
// its tag filters, phi_tags are any of them), values compared here the way
// every collector compares them.
func listTagged(ctx context.Context, api taggingAPI, region string, conf map[string]string) ([]taggedResource, error) {
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	var got []taggedResource
	for _, k := range keys {
		p := resourcegroupstaggingapi.NewGetResourcesPaginator(api, &resourcegroupstaggingapi.GetResourcesInput{
			TagFilters: []tagtypes.TagFilter{{Key: aws.String(k)}}, ResourceTypeFilters: backupResourceTypes, ResourcesPerPage: aws.Int32(100),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return got, fmt.Errorf("get resources tagged %s: %w", k, err)
			}
			for _, m := range page.ResourceTagMappingList {
				arn := aws.ToString(m.ResourceARN)
				tags := map[string]string{}
				for _, t := range m.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				if seen[arn] || !phiTagged(conf, tags) {
					continue
				}
				seen[arn] = true
				got = append(got, taggedResource{arn: arn, region: region, tags: tags})
			}
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].arn < got[j].arn })
	return got, nil
}

// phiSet says which resources were found tagged as holding ePHI, and
// where that could not be read.
type phiSet struct {
	tagged map[string]bool
	// failed are the regions whose tagged resources could not be listed.
	failed map[string]error
}

type phiKnown struct {
	read bool
	err  error
}

func phiIndex(regions []*backupRegion) phiSet {
	s := phiSet{tagged: map[string]bool{}, failed: map[string]error{}}
	for _, r := range regions {
		for _, t := range r.tagged {
			s.tagged[t.arn] = true
		}
		if r.taggedErr != nil {
			s.failed[r.region] = r.taggedErr
		}
	}
	return s
}

// lookup says whether arn is tagged as holding ePHI; err when its
// region's tags (or, for an ARN without a region, any region's) could not
// be listed.
func (s phiSet) lookup(arn string) (bool, phiKnown) {
	if s.tagged[arn] {
		return true, phiKnown{read: true}
	}
	region := ""
	if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
		region = parts[3]
	}
	failed := make([]string, 0, len(s.failed))
	for r := range s.failed {
		failed = append(failed, r)
	}
	sort.Strings(failed)
	for _, r := range failed {
		if region == "" || region == r {
			return false, phiKnown{read: true, err: s.failed[r]}
		}
	}
	return false, phiKnown{read: true}
}
