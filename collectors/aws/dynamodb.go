package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// tableAPI lists the only DynamoDB calls the collector makes. Both reads
// are per table: DynamoDB has no bulk form of either.
type tableAPI interface {
	dynamodb.ListTablesAPIClient
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	ListTagsOfResource(ctx context.Context, in *dynamodb.ListTagsOfResourceInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
}

// tableKeyAPI tells an AWS managed table key from a customer managed one.
type tableKeyAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

var (
	_ tableAPI    = (*dynamodb.Client)(nil)
	_ tableKeyAPI = (*kms.Client)(nil)
)

type dynamoCollector struct{ perAccount }

func newDynamoDB(s collector.Settings, tune tuning) (*dynamoCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &dynamoCollector{perAccount{sess}}, nil
}

// tableState is everything read about one table.
type tableState struct {
	name, region, arn string
	table             *ddbtypes.TableDescription
	tableErr          error
	// keyManager is AWS or CUSTOMER for a table encrypted with a KMS key.
	keyManager kmstypes.KeyManagerType
	keyErr     error
	backups    *ddbtypes.ContinuousBackupsDescription
	backupsErr error
	// phi is whether the table's tags mark it as holding ePHI; tags are
	// read only when phi_tags are configured.
	phi     bool
	tagsErr error
}

func (c *dynamoCollector) client(cfg aws.Config, region string) tableAPI {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *dynamoCollector) keyClient(cfg aws.Config, region string) tableKeyAPI {
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// Collect lists the tables of each region and reads each table's
// description and continuous backups; a KMS key is described once per
// run, however many tables it encrypts.
func (c *dynamoCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	tables, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "dynamodb:ListTables", noun: "table", checks: DynamoDB.Checks},
		func(ctx context.Context, region string) ([]*tableState, error) {
			var got []*tableState
			p := dynamodb.NewListTablesPaginator(c.client(cfg, region), &dynamodb.ListTablesInput{Limit: aws.Int32(100)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("list tables: %w", err)
				}
				for _, n := range page.TableNames {
					got = append(got, &tableState{name: n, region: region, arn: fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", part, region, acct, n)})
				}
			}
			return got, nil
		})
	if !ok {
		return res, partial.Err()
	}
	var mu sync.Mutex
	sort.Slice(tables, func(i, j int) bool { return tables[i].arn < tables[j].arn })

	keys := newKeyManagers()
	forEach(ctx, c.s.concurrency(), tables, func(ctx context.Context, t *tableState) {
		api := c.client(cfg, t.region)
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
		if err != nil {
			t.tableErr = fmt.Errorf("describe table: %w", err)
		} else {
			t.table = out.Table
			if t.table.TableArn != nil {
				t.arn = aws.ToString(t.table.TableArn)
			}
			if key := tableKey(t.table); key != "" {
				t.keyManager, t.keyErr = keys.get(ctx, c.keyClient(cfg, t.region), key)
			}
		}
		if len(c.s.src.PHITags) > 0 && t.table != nil {
			tags, err := tableTags(ctx, api, t.arn)
			t.phi, t.tagsErr = phiTagged(c.s.src.PHITags, tags), err
		}
		bk, err := api.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(t.name)})
		if err != nil {
			t.backupsErr = fmt.Errorf("describe continuous backups: %w", err)
		} else {
			t.backups = bk.ContinuousBackupsDescription
		}
		mu.Lock()
		defer mu.Unlock()
		w := where(acct, t.region, t.arn)
		for _, e := range []struct {
			op  string
			err error
		}{{"dynamodb:DescribeTable", t.tableErr}, {"kms:DescribeKey", t.keyErr}, {"dynamodb:DescribeContinuousBackups", t.backupsErr}, {"dynamodb:ListTagsOfResource", t.tagsErr}} {
			if e.err != nil {
				partial.Add(w, e.op, e.err)
			}
		}
	})
	for _, t := range tables {
		if t.table == nil && t.tableErr == nil {
			t.tableErr = notRead(ctx)
			partial.Add(where(acct, t.region, t.arn), "dynamodb:DescribeTable", t.tableErr)
		}
		if t.backups == nil && t.backupsErr == nil {
			t.backupsErr = notRead(ctx)
			partial.Add(where(acct, t.region, t.arn), "dynamodb:DescribeContinuousBackups", t.backupsErr)
		}
		res.Records = append(res.Records, tableRecord(t))
		conf := len(c.s.src.PHITags) > 0 && t.table != nil
		res.Findings = append(res.Findings, markPHI(tableEncryption(t), conf, t.phi, t.tagsErr), markPHI(tablePITR(t), conf, t.phi, t.tagsErr))
	}
	return res, partial.Err()
}

// tableTags reads every tag of a table, following NextToken.
func tableTags(ctx context.Context, api tableAPI, arn string) (map[string]string, error) {
	tags := map[string]string{}
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)}
	for {
		out, err := api.ListTagsOfResource(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list tags of resource: %w", err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if aws.ToString(out.NextToken) == "" {
			return tags, nil
		}
		in.NextToken = out.NextToken
	}
}

// tableKey is the KMS key ARN of a table encrypted with a KMS key, or ""
// for the AWS owned key.
func tableKey(t *ddbtypes.TableDescription) string {
	if d := t.SSEDescription; d != nil && d.SSEType == ddbtypes.SSETypeKms && d.Status != ddbtypes.SSEStatusDisabled {
		return aws.ToString(d.KMSMasterKeyArn)
	}
	return ""
}

// keyManagers describes each KMS key once, for every table it encrypts.
type keyManagers struct {
	mu   sync.Mutex
	done map[string]*keyAnswer
}

type keyAnswer struct {
	once    sync.Once
	manager kmstypes.KeyManagerType
	err     error
}

func newKeyManagers() *keyManagers { return &keyManagers{done: map[string]*keyAnswer{}} }

func (k *keyManagers) get(ctx context.Context, api tableKeyAPI, arn string) (kmstypes.KeyManagerType, error) {
	k.mu.Lock()
	a, ok := k.done[arn]
	if !ok {
		a = &keyAnswer{}
		k.done[arn] = a
	}
	k.mu.Unlock()
	a.once.Do(func() {
		out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		if err != nil {
			a.err = fmt.Errorf("describe key %s: %w", arn, err)
			return
		}
		a.manager = out.KeyMetadata.KeyManager
	})
	return a.manager, a.err
}
