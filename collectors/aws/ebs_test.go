package awscollector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func ebsNew(s collector.Settings, t tuning) (collector.Collector, error) { return newEBS(s, t) }

const (
	euDefault     = "arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default"
	usDefault     = "arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default"
	phiVolume     = "arn:aws:ec2:us-east-1:111122223333:volume/vol-0a1b2c3d4e5f60001"
	plainVolume   = "arn:aws:ec2:us-east-1:111122223333:volume/vol-0b2c3d4e5f6a70002"
	privateSnap   = "arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f60001"
	publicSnap    = "arn:aws:ec2:us-east-1::snapshot/snap-0b2c3d4e5f6a70002"
	plainSnap     = "arn:aws:ec2:us-east-1::snapshot/snap-0c3d4e5f6a7b80003"
	appDataKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func TestEBSDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.ebs", ebsNew, nil)
	golden(t, "ebs_demo", out.results)
}

// TestEBSDemoVerdicts: each planted problem fails on its resource's ARN,
// each compliant counterpart passes, with what an auditor needs observed.
func TestEBSDemoVerdicts(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.ebs", ebsNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusComplete, p.Status, "%v", p.Errors)
	for _, c := range []struct {
		check, resource string
		want            evidence.Result
	}{
		{checkEBSEncryptionByDefault, euDefault, evidence.Fail},
		{checkEBSEncryptionByDefault, usDefault, evidence.Pass},
		{checkEBSVolumeEncrypted, plainVolume, evidence.Fail},
		{checkEBSVolumeEncrypted, phiVolume, evidence.Pass},
		{checkEBSSnapshotPublic, publicSnap, evidence.Fail},
		{checkEBSSnapshotPublic, privateSnap, evidence.Pass},
		{checkEBSSnapshotPublic, plainSnap, evidence.Pass},
		{checkEBSSnapshotEncrypted, publicSnap, evidence.Fail},
		{checkEBSSnapshotEncrypted, plainSnap, evidence.Fail},
		{checkEBSSnapshotEncrypted, privateSnap, evidence.Pass},
	} {
		f := findingOf(t, p, c.check, c.resource)
		require.Equal(t, c.want, f.Status, "%s %s: %s", c.check, c.resource, f.Reason)
	}
	require.Equal(t, appDataKeyARN, findingOf(t, p, checkEBSEncryptionByDefault, usDefault).Observed["default_kms_key_id"])
	vol := findingOf(t, p, checkEBSVolumeEncrypted, plainVolume).Observed
	require.Equal(t, "in-use", vol["state"])
	require.EqualValues(t, 50, vol["size_gib"])
	require.Equal(t, []string{"i-0b2c3d4e5f6a70002"}, vol["attached_instances"])
	require.Equal(t, appDataKeyARN, findingOf(t, p, checkEBSVolumeEncrypted, phiVolume).Observed["kms_key_id"])
	pub := findingOf(t, p, checkEBSSnapshotPublic, publicSnap).Observed
	require.Equal(t, []map[string]any{{"group": "all"}}, pub["create_volume_permission"], "the permission is the evidence")
	// Staging is compliant.
	for _, f := range out.results[1].Findings {
		require.Equal(t, evidence.Pass, f.Status, "%s %s: %s", f.Check, f.Resource, f.Reason)
	}
}

// TestEBSPagination reads volumes and snapshots one per page
// (MaxResults/NextToken, <nextToken>) to the end: the evidence is the same.
func TestEBSPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.ebs", ebsNew, nil)
	golden(t, "ebs_demo", out.results)
	// Two volumes in us-east-1, two pages; none in eu-west-1, one page.
	require.Equal(t, 3, sim.Count(prod, "ec2", "DescribeVolumes"))
	// us-east-1: three owned snapshots (three pages) and one public (one
	// page); eu-west-1: one empty page of each.
	require.Equal(t, 6, sim.Count(prod, "ec2", "DescribeSnapshots"))
}

// TestEBSCallsPerResource: the setting once per region, the default key
// only where encryption by default is on, two snapshot listings per
// region, and a snapshot's permission only for the one public snapshot.
func TestEBSCallsPerResource(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.ebs", ebsNew, nil)
	require.Equal(t, 2, sim.Count(prod, "ec2", "GetEbsEncryptionByDefault"))
	require.Equal(t, 1, sim.Count(prod, "ec2", "GetEbsDefaultKmsKeyId"), "eu-west-1 has it off")
	require.Equal(t, 2, sim.Count(prod, "ec2", "DescribeVolumes"))
	require.Equal(t, 4, sim.Count(prod, "ec2", "DescribeSnapshots"))
	require.Equal(t, 1, sim.Count(prod, "ec2", "DescribeSnapshotAttribute"))
	require.Equal(t, 0, sim.Count(staging, "ec2", "DescribeSnapshotAttribute"), "staging has no public snapshot")
	require.Equal(t, 2, sim.Count(staging, "ec2", "GetEbsDefaultKmsKeyId"))
}

// TestEBSRegionDenied: AccessDenied in eu-west-1 and ap-east-1 not enabled
// give error findings for those regions (the setting on its own name,
// volumes and snapshots on the account) and a partial snapshot; us-east-1
// is judged as ever.
func TestEBSRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.ebs", ebsNew, func(src *collector.AWSSource) { src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"} })
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	errs := map[string]int{}
	for _, e := range p.Errors {
		require.NotContains(t, e.Where, "us-east-1")
		switch {
		case e.Where == "account/111122223333/region/ap-east-1" || e.Where == "account/111122223333/region/ap-east-1/arn:aws:ec2:ap-east-1:111122223333:ebs-encryption-by-default":
			require.Contains(t, e.Message, "AuthFailure")
			errs["ap-east-1 "+e.Operation]++
		default:
			require.Contains(t, e.Where, "eu-west-1")
			require.Contains(t, e.Message, "UnauthorizedOperation")
			errs["eu-west-1 "+e.Operation]++
		}
	}
	for _, r := range []string{"ap-east-1", "eu-west-1"} {
		require.Equal(t, 1, errs[r+" ec2:GetEbsEncryptionByDefault"], r)
		require.Equal(t, 1, errs[r+" ec2:DescribeVolumes"], r)
		require.Equal(t, 2, errs[r+" ec2:DescribeSnapshots"], "%s: owned and public listings", r)
	}
	require.Len(t, p.Errors, 8)
	for _, r := range []string{"ap-east-1", "eu-west-1"} {
		f := findingOf(t, p, checkEBSEncryptionByDefault, fmt.Sprintf("arn:aws:ec2:%s:111122223333:ebs-encryption-by-default", r))
		require.Equal(t, evidence.Error, f.Status)
	}
	rootErrors := map[string]int{}
	for _, f := range p.Findings {
		if f.Resource == "arn:aws:iam::111122223333:root" {
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "could not all be listed")
			rootErrors[f.Check]++
		}
	}
	require.Equal(t, map[string]int{checkEBSVolumeEncrypted: 2, checkEBSSnapshotPublic: 2, checkEBSSnapshotEncrypted: 2}, rootErrors)
	// us-east-1 intact.
	require.Equal(t, evidence.Pass, findingOf(t, p, checkEBSEncryptionByDefault, usDefault).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSVolumeEncrypted, plainVolume).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkEBSVolumeEncrypted, phiVolume).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSSnapshotPublic, publicSnap).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkEBSSnapshotPublic, privateSnap).Status)
	// Staging only misses the region it has not enabled.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	for _, e := range s.Errors {
		require.Contains(t, e.Where, "ap-east-1")
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkEBSVolumeEncrypted, "arn:aws:ec2:eu-west-1:444455556666:volume/vol-0d4e5f6a7b8c90004").Status)
}

// TestEBSSettingDeniedVolumesReadable: GetEbsEncryptionByDefault refused
// in a region whose volumes and snapshots can be read is an error for the
// setting alone.
func TestEBSSettingDeniedVolumesReadable(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "us-east-1", "GetEbsEncryptionByDefault")
	out := runCollector(t, sim, "aws.ebs", ebsNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	require.Len(t, p.Errors, 1)
	require.Equal(t, "ec2:GetEbsEncryptionByDefault", p.Errors[0].Operation)
	require.Equal(t, "account/111122223333/region/us-east-1/"+usDefault, p.Errors[0].Where)
	errored := 0
	for _, f := range p.Findings {
		if f.Status == evidence.Error {
			errored++
			require.Equal(t, checkEBSEncryptionByDefault, f.Check)
			require.Equal(t, usDefault, f.Resource)
			require.Contains(t, f.Observed["error"], "UnauthorizedOperation")
		}
	}
	require.Equal(t, 1, errored)
	require.Zero(t, sim.Count(prod, "ec2", "GetEbsDefaultKmsKeyId"), "the key is asked only where the setting is known to be on")
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSEncryptionByDefault, euDefault).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSVolumeEncrypted, plainVolume).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkEBSVolumeEncrypted, phiVolume).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSSnapshotPublic, publicSnap).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkEBSSnapshotEncrypted, plainSnap).Status)
}

// TestEBSSnapshotAttributeDenied: a public snapshot whose permission
// cannot be read still fails, since EC2 listed it as restorable by all;
// the run records the refusal and the finding says what is missing.
func TestEBSSnapshotAttributeDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "", "DescribeSnapshotAttribute")
	out := runCollector(t, sim, "aws.ebs", ebsNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	require.Len(t, p.Errors, 1)
	require.Equal(t, "ec2:DescribeSnapshotAttribute", p.Errors[0].Operation)
	f := findingOf(t, p, checkEBSSnapshotPublic, publicSnap)
	require.Equal(t, evidence.Fail, f.Status)
	require.Contains(t, f.Observed["permission_error"], "UnauthorizedOperation")
	require.NotContains(t, f.Observed, "create_volume_permission")
}

// TestEBSAssumeRole: staging is read through its role and judged there.
func TestEBSAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.ebs", ebsNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkEBSEncryptionByDefault, "arn:aws:ec2:eu-west-1:444455556666:ebs-encryption-by-default").Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkEBSSnapshotPublic, "arn:aws:ec2:eu-west-1::snapshot/snap-0d4e5f6a7b8c90004").Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkEBSSnapshotEncrypted, "arn:aws:ec2:eu-west-1::snapshot/snap-0d4e5f6a7b8c90004").Status)
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.ebs", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	require.NotZero(t, sim.Count(staging, "ec2", "DescribeVolumes"))
}

// TestEBSThrottlingRetried: EC2's RequestLimitExceeded is retried by the
// SDK's retryer for every operation and the evidence is unchanged.
func TestEBSThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.ebs", ebsNew, "ebs_demo", []string{"GetEbsEncryptionByDefault", "GetEbsDefaultKmsKeyId", "DescribeVolumes", "DescribeSnapshots", "DescribeSnapshotAttribute"}...)
}

// TestEBSPHITags: the tags in DescribeVolumes and DescribeSnapshots
// answers mark ePHI, with no call of their own; untagged resources are
// judged the same, and without phi_tags nothing is marked.
func TestEBSPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	p := runCollector(t, sim, "aws.ebs", ebsNew, nil).results[0]
	calls := len(sim.Requests())
	vol := findingOf(t, p, checkEBSVolumeEncrypted, phiVolume)
	require.Equal(t, true, vol.Observed["phi"])
	require.Contains(t, vol.Reason, "ePHI")
	plain := findingOf(t, p, checkEBSVolumeEncrypted, plainVolume)
	require.Equal(t, evidence.Fail, plain.Status, "untagged volumes are still checked")
	require.Equal(t, false, plain.Observed["phi"])
	require.Equal(t, true, findingOf(t, p, checkEBSSnapshotEncrypted, privateSnap).Observed["phi"])

	sim = awssim.NewAt(simNow)
	p = runCollector(t, sim, "aws.ebs", ebsNew, func(src *collector.AWSSource) { src.PHITags = nil }).results[0]
	require.Equal(t, calls, len(sim.Requests()), "tags cost no calls")
	require.NotContains(t, findingOf(t, p, checkEBSVolumeEncrypted, phiVolume).Observed, "phi")
}

// TestEBSCheckBoundaries: each check's pass, fail and error on its own.
func TestEBSCheckBoundaries(t *testing.T) {
	denied := errors.New("api error UnauthorizedOperation")
	for _, c := range []struct {
		name string
		r    ebsRegion
		want evidence.Result
	}{
		{"on", ebsRegion{on: true, key: appDataKeyARN}, evidence.Pass},
		{"on, key unread", ebsRegion{on: true, keyErr: denied}, evidence.Pass},
		{"off", ebsRegion{}, evidence.Fail},
		{"unread", ebsRegion{onErr: denied}, evidence.Error},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.r.region, c.r.setting = "us-east-1", usDefault
			f := encryptionByDefault(&c.r)
			require.Equal(t, c.want, f.Status, f.Reason)
			require.Equal(t, usDefault, f.Resource)
			if c.r.keyErr != nil {
				require.Contains(t, f.Observed["kms_key_error"], "UnauthorizedOperation")
			}
		})
	}

	vol := ec2types.Volume{VolumeId: aws.String("vol-1"), State: ec2types.VolumeStateAvailable, Size: aws.Int32(8)}
	require.Equal(t, evidence.Fail, volumeEncrypted("arn:v", vol).Status)
	require.Equal(t, []string{}, volumeEncrypted("arn:v", vol).Observed["attached_instances"])
	vol.Encrypted, vol.KmsKeyId = aws.Bool(true), aws.String(appDataKeyARN)
	require.Equal(t, evidence.Pass, volumeEncrypted("arn:v", vol).Status)

	snap := func(enc, public bool, publicErr, permsErr error) *snapState {
		s := &snapState{arn: "arn:s", snap: ec2types.Snapshot{SnapshotId: aws.String("snap-1"), Encrypted: aws.Bool(enc)},
			public: public, publicErr: publicErr, permsErr: permsErr, permsRead: permsErr == nil && public}
		if public && permsErr == nil {
			s.perms = []ec2types.CreateVolumePermission{{Group: ec2types.PermissionGroupAll}, {UserId: aws.String("444455556666")}}
		}
		return s
	}
	require.Equal(t, evidence.Pass, snapshotNotPublic(snap(true, false, nil, nil)).Status)
	pub := snapshotNotPublic(snap(false, true, nil, nil))
	require.Equal(t, evidence.Fail, pub.Status)
	require.Equal(t, []map[string]any{{"group": "all"}, {"user_id": "444455556666"}}, pub.Observed["create_volume_permission"])
	require.Equal(t, evidence.Fail, snapshotNotPublic(snap(false, true, nil, denied)).Status, "listed as restorable by all")
	unknown := snapshotNotPublic(snap(true, false, denied, nil))
	require.Equal(t, evidence.Error, unknown.Status, "not listed public, but the public listing failed")
	require.Contains(t, unknown.Reason, "could not be listed")
	require.Equal(t, evidence.Pass, snapshotEncrypted(snap(true, false, nil, nil)).Status)
	require.Equal(t, evidence.Fail, snapshotEncrypted(snap(false, false, nil, nil)).Status)
	rec := snapshotRecord(snap(true, false, denied, nil))
	require.NotContains(t, rec.Attributes, "public", "whether it is public was not read")
}

// TestEBSRunEndsEarly: a run that ends while a region is being read
// records what it could not read; the region never reached is an error
// finding of every check on the account, and nothing there passes.
func TestEBSRunEndsEarly(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, cancel := context.WithCancel(collector.WithRecorder(t.Context(), collector.NewRecorder()))
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=DescribeVolumes") {
			// End the run while the first region's volumes are listed,
			// answering only once the client has given up.
			cancel()
			<-r.Context().Done()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)
	src.Concurrency = 1
	c, err := newEBS(collector.Settings{ID: "aws.ebs", Sources: collector.Sources{AWS: src}, HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	var pe *collector.PartialError
	require.ErrorAs(t, err, &pe)
	rootErrors := map[string]int{}
	for _, f := range res.Findings {
		require.NotContains(t, f.Resource, ":us-east-1:", "nothing in the region never reached is judged")
		if f.Resource == "arn:aws:iam::111122223333:root" {
			require.Equal(t, evidence.Error, f.Status)
			rootErrors[f.Check]++
		}
	}
	// eu-west-1's listings stopped short; us-east-1 was never reached.
	require.Equal(t, map[string]int{checkEBSEncryptionByDefault: 1, checkEBSVolumeEncrypted: 2, checkEBSSnapshotPublic: 2, checkEBSSnapshotEncrypted: 2}, rootErrors)
	var ops []string
	for _, e := range pe.Errors {
		ops = append(ops, e.Where+" "+e.Operation)
	}
	require.Contains(t, ops, "account/111122223333/region/us-east-1 ec2:DescribeVolumes")
	require.Contains(t, ops, "account/111122223333/region/eu-west-1 ec2:DescribeVolumes")
}
