package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// ebsAPI lists the only EC2 calls the collector makes. Volumes and
// snapshots are listed in bulk, tags included; only snapshots found public
// have their createVolumePermission read.
type ebsAPI interface {
	GetEbsEncryptionByDefault(ctx context.Context, in *ec2.GetEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
	GetEbsDefaultKmsKeyId(ctx context.Context, in *ec2.GetEbsDefaultKmsKeyIdInput, optFns ...func(*ec2.Options)) (*ec2.GetEbsDefaultKmsKeyIdOutput, error)
	ec2.DescribeVolumesAPIClient
	ec2.DescribeSnapshotsAPIClient
	DescribeSnapshotAttribute(ctx context.Context, in *ec2.DescribeSnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error)
}

var _ ebsAPI = (*ec2.Client)(nil)

type ebsCollector struct{ perAccount }

func newEBS(s collector.Settings, tune tuning) (*ebsCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &ebsCollector{perAccount{sess}}, nil
}

// ebsRegion is everything read in one region.
type ebsRegion struct {
	region string
	// setting names the region's encryption by default, which has no ARN
	// of its own.
	setting string
	on      bool
	onErr   error
	// key is the default KMS key, read only where encryption by default
	// is on.
	key        string
	keyErr     error
	volumes    []ec2types.Volume
	volumesErr error
	snapshots  []*snapState
	ownedErr   error
	// publicErr is the listing of the region's public snapshots failing:
	// then no snapshot not found public is known to be private.
	publicErr error
}

// snapState is one snapshot the account owns.
type snapState struct {
	arn, region string
	snap        ec2types.Snapshot
	// public is whether the snapshot was listed as restorable by all.
	public    bool
	publicErr error
	perms     []ec2types.CreateVolumePermission
	permsRead bool
	permsErr  error
}

func (c *ebsCollector) client(cfg aws.Config, region string) ebsAPI {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func settingARN(part, region, acct string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:ebs-encryption-by-default", part, region, acct)
}

func volumeARN(part, region, acct, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:volume/%s", part, region, acct, id)
}

// snapshotARN follows EC2's ARN format for snapshots, whose account field
// is empty.
func snapshotARN(part, region, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s::snapshot/%s", part, region, id)
}

// Collect reads, in each region, the encryption by default setting (and
// its default key where it is on), every volume, every snapshot the
// account owns and, in one more listing, which of those are restorable by
// all; only those public snapshots have their permission read.
func (c *ebsCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	// Every region answers one ebsRegion, errors inside it; a region is a
	// listing failure of eachRegion only when the run ends before it.
	regions, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "ec2:DescribeVolumes", noun: "resource", checks: EBS.Checks},
		func(ctx context.Context, region string) ([]*ebsRegion, error) {
			return []*ebsRegion{c.readRegion(ctx, c.client(cfg, region), part, acct, region)}, nil
		})
	if !ok {
		return res, partial.Err()
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].region < regions[j].region })

	var public []*snapState
	for _, r := range regions {
		for _, s := range r.snapshots {
			if s.public {
				public = append(public, s)
			}
		}
	}
	var mu sync.Mutex
	forEach(ctx, c.s.concurrency(), public, func(ctx context.Context, s *snapState) {
		out, err := c.client(cfg, s.region).DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
			SnapshotId: s.snap.SnapshotId, Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			s.permsErr = fmt.Errorf("describe snapshot attribute: %w", err)
			partial.Add(where(acct, s.region, s.arn), "ec2:DescribeSnapshotAttribute", s.permsErr)
			return
		}
		s.perms, s.permsRead = out.CreateVolumePermissions, true
	})

	conf := len(c.s.src.PHITags) > 0
	for _, r := range regions {
		c.regionErrors(run, acct, r)
		res.Records = append(res.Records, settingRecord(r))
		res.Findings = append(res.Findings, encryptionByDefault(r))
		for _, v := range r.volumes {
			arn := volumeARN(part, r.region, acct, aws.ToString(v.VolumeId))
			phi := conf && phiTagged(c.s.src.PHITags, ec2Tags(v.Tags))
			rec := volumeRecord(arn, r.region, v)
			if conf {
				rec.Attributes["phi"] = phi
			}
			res.Records = append(res.Records, rec)
			res.Findings = append(res.Findings, markPHI(volumeEncrypted(arn, v), conf, phi, nil))
		}
		for _, s := range r.snapshots {
			if s.public && !s.permsRead && s.permsErr == nil {
				s.permsErr = notRead(ctx)
				partial.Add(where(acct, s.region, s.arn), "ec2:DescribeSnapshotAttribute", s.permsErr)
			}
			phi := conf && phiTagged(c.s.src.PHITags, ec2Tags(s.snap.Tags))
			rec := snapshotRecord(s)
			if conf {
				rec.Attributes["phi"] = phi
			}
			res.Records = append(res.Records, rec)
			res.Findings = append(res.Findings, markPHI(snapshotNotPublic(s), conf, phi, nil), markPHI(snapshotEncrypted(s), conf, phi, nil))
		}
	}
	return res, partial.Err()
}

// readRegion makes the region's reads one after the other: a handful of
// calls, however many volumes and snapshots, but for the pages.
func (c *ebsCollector) readRegion(ctx context.Context, api ebsAPI, part, acct, region string) *ebsRegion {
	r := &ebsRegion{region: region, setting: settingARN(part, region, acct)}
	if out, err := api.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}); err != nil {
		r.onErr = fmt.Errorf("get ebs encryption by default: %w", err)
	} else {
		r.on = aws.ToBool(out.EbsEncryptionByDefault)
	}
	if r.on {
		if out, err := api.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{}); err != nil {
			r.keyErr = fmt.Errorf("get ebs default kms key id: %w", err)
		} else {
			r.key = aws.ToString(out.KmsKeyId)
		}
	}

	vp := ec2.NewDescribeVolumesPaginator(api, &ec2.DescribeVolumesInput{MaxResults: aws.Int32(500)})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			r.volumesErr = fmt.Errorf("describe volumes: %w", err)
			break
		}
		r.volumes = append(r.volumes, page.Volumes...)
	}

	byID := map[string]*snapState{}
	list := func(in *ec2.DescribeSnapshotsInput, public bool) error {
		p := ec2.NewDescribeSnapshotsPaginator(api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, sn := range page.Snapshots {
				id := aws.ToString(sn.SnapshotId)
				s := byID[id]
				if s == nil {
					s = &snapState{arn: snapshotARN(part, region, id), region: region, snap: sn}
					byID[id] = s
					r.snapshots = append(r.snapshots, s)
				}
				s.public = s.public || public
			}
		}
		return nil
	}
	if err := list(&ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(1000)}, false); err != nil {
		r.ownedErr = fmt.Errorf("describe snapshots: %w", err)
	}
	// The documented way to find snapshots whose createVolumePermission
	// includes group all, for every snapshot at once.
	if err := list(&ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, RestorableByUserIds: []string{"all"}, MaxResults: aws.Int32(1000)}, true); err != nil {
		r.publicErr = fmt.Errorf("describe snapshots restorable by all: %w", err)
	}
	for _, s := range r.snapshots {
		if !s.public {
			s.publicErr = r.publicErr
		}
	}
	sort.Slice(r.snapshots, func(i, j int) bool { return r.snapshots[i].arn < r.snapshots[j].arn })
	return r
}

// regionErrors records what a region could not read: the run errors, and
// for a listing that stopped short an error finding of each check judged
// on it, on the account, since what was not listed is judged nowhere else.
func (c *ebsCollector) regionErrors(run *accountRun, acct string, r *ebsRegion) {
	w := where(acct, r.region, "")
	if r.onErr != nil {
		run.partial.Add(where(acct, r.region, r.setting), "ec2:GetEbsEncryptionByDefault", r.onErr)
	}
	if r.keyErr != nil {
		run.partial.Add(where(acct, r.region, r.setting), "ec2:GetEbsDefaultKmsKeyId", r.keyErr)
	}
	root := accountARN(run.part, acct)
	short := func(noun string, err error, n int, checks ...string) {
		for _, chk := range checks {
			run.res.Findings = append(run.res.Findings, finding(chk, root, evidence.Error,
				fmt.Sprintf("The %ss of region %s could not all be listed, so not every %s was judged.", noun, r.region, noun),
				map[string]any{"region": r.region, "error": err.Error(), noun + "s_listed": n}))
		}
	}
	if r.volumesErr != nil {
		run.partial.Add(w, "ec2:DescribeVolumes", fmt.Errorf("region %s: %w", r.region, r.volumesErr))
		short("volume", r.volumesErr, len(r.volumes), checkEBSVolumeEncrypted)
	}
	if r.ownedErr != nil {
		run.partial.Add(w, "ec2:DescribeSnapshots", fmt.Errorf("region %s: %w", r.region, r.ownedErr))
		short("snapshot", r.ownedErr, len(r.snapshots), checkEBSSnapshotPublic, checkEBSSnapshotEncrypted)
	}
	if r.publicErr != nil {
		run.partial.Add(w, "ec2:DescribeSnapshots", fmt.Errorf("region %s: %w", r.region, r.publicErr))
	}
}

// ec2Tags is an EC2 tag list as a map.
func ec2Tags(tags []ec2types.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}
