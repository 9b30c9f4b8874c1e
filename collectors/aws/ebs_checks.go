package awscollector

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func settingRecord(r *ebsRegion) evidence.Record {
	attrs := map[string]any{}
	if r.onErr != nil {
		attrs["unread"] = true
	} else {
		attrs["encryption_by_default"] = r.on
	}
	if r.key != "" {
		attrs["default_kms_key_id"] = r.key
	}
	return evidence.Record{Type: "aws.ebs.encryption_by_default", ID: r.setting, Region: r.region, Attributes: attrs}
}

// encryptionByDefault judges the region's setting, which makes every new
// volume, and every copy of an unencrypted snapshot, encrypted.
func encryptionByDefault(r *ebsRegion) evidence.Finding {
	if r.onErr != nil {
		return finding(checkEBSEncryptionByDefault, r.setting, evidence.Error,
			fmt.Sprintf("Whether EBS encryption by default is on in region %s could not be read.", r.region),
			map[string]any{"region": r.region, "error": r.onErr.Error()})
	}
	obs := map[string]any{"region": r.region, "encryption_by_default": r.on}
	if !r.on {
		return finding(checkEBSEncryptionByDefault, r.setting, evidence.Fail,
			fmt.Sprintf("EBS encryption by default is off in region %s: new volumes there are unencrypted unless each asks otherwise.", r.region), obs)
	}
	key := "its default KMS key"
	if r.keyErr != nil {
		obs["kms_key_error"] = r.keyErr.Error()
	} else {
		obs["default_kms_key_id"] = r.key
		key = r.key
	}
	return finding(checkEBSEncryptionByDefault, r.setting, evidence.Pass,
		fmt.Sprintf("EBS encryption by default is on in region %s: new volumes are encrypted with %s.", r.region, key), obs)
}

func attachedInstances(v ec2types.Volume) []string {
	out := []string{}
	for _, a := range v.Attachments {
		out = append(out, aws.ToString(a.InstanceId))
	}
	return out
}

func volumeRecord(arn, region string, v ec2types.Volume) evidence.Record {
	attrs := map[string]any{
		"volume_id":          aws.ToString(v.VolumeId),
		"state":              string(v.State),
		"size_gib":           aws.ToInt32(v.Size),
		"volume_type":        string(v.VolumeType),
		"availability_zone":  aws.ToString(v.AvailabilityZone),
		"created":            ts(aws.ToTime(v.CreateTime)),
		"encrypted":          aws.ToBool(v.Encrypted),
		"attached_instances": attachedInstances(v),
	}
	if v.KmsKeyId != nil {
		attrs["kms_key_id"] = aws.ToString(v.KmsKeyId)
	}
	return evidence.Record{Type: "aws.ebs.volume", ID: arn, Region: region, Attributes: attrs}
}

// volumeEncrypted judges one listed volume: DescribeVolumes answers
// whether it is encrypted, so a volume listed is a volume read.
func volumeEncrypted(arn string, v ec2types.Volume) evidence.Finding {
	id := aws.ToString(v.VolumeId)
	obs := map[string]any{
		"encrypted":          aws.ToBool(v.Encrypted),
		"state":              string(v.State),
		"size_gib":           aws.ToInt32(v.Size),
		"attached_instances": attachedInstances(v),
	}
	if !aws.ToBool(v.Encrypted) {
		return finding(checkEBSVolumeEncrypted, arn, evidence.Fail, fmt.Sprintf("EBS volume %s is not encrypted at rest.", id), obs)
	}
	obs["kms_key_id"] = aws.ToString(v.KmsKeyId)
	return finding(checkEBSVolumeEncrypted, arn, evidence.Pass, fmt.Sprintf("EBS volume %s is encrypted with KMS key %s.", id, aws.ToString(v.KmsKeyId)), obs)
}

// permissions is a createVolumePermission list as evidence.
func permissions(perms []ec2types.CreateVolumePermission) []map[string]any {
	out := []map[string]any{}
	for _, p := range perms {
		m := map[string]any{}
		if p.Group != "" {
			m["group"] = string(p.Group)
		}
		if p.UserId != nil {
			m["user_id"] = aws.ToString(p.UserId)
		}
		out = append(out, m)
	}
	return out
}

func snapshotRecord(s *snapState) evidence.Record {
	sn := s.snap
	attrs := map[string]any{
		"snapshot_id": aws.ToString(sn.SnapshotId),
		"volume_id":   aws.ToString(sn.VolumeId),
		"state":       string(sn.State),
		"started":     ts(aws.ToTime(sn.StartTime)),
		"size_gib":    aws.ToInt32(sn.VolumeSize),
		"description": aws.ToString(sn.Description),
		"encrypted":   aws.ToBool(sn.Encrypted),
	}
	if sn.KmsKeyId != nil {
		attrs["kms_key_id"] = aws.ToString(sn.KmsKeyId)
	}
	if s.publicErr == nil {
		attrs["public"] = s.public
	}
	if s.permsRead {
		attrs["create_volume_permission"] = permissions(s.perms)
	}
	return evidence.Record{Type: "aws.ebs.snapshot", ID: s.arn, Region: s.region, Attributes: attrs}
}

// snapshotNotPublic judges an owned snapshot on whether EC2 listed it as
// restorable by all; the permission read for a public one is the evidence
// beside the verdict, not the verdict.
func snapshotNotPublic(s *snapState) evidence.Finding {
	id := aws.ToString(s.snap.SnapshotId)
	if s.publicErr != nil {
		return finding(checkEBSSnapshotPublic, s.arn, evidence.Error,
			fmt.Sprintf("The region's public snapshots could not be listed, so whether snapshot %s is public could not be read.", id),
			map[string]any{"error": s.publicErr.Error()})
	}
	if !s.public {
		return finding(checkEBSSnapshotPublic, s.arn, evidence.Pass, fmt.Sprintf("EBS snapshot %s is not restorable by all AWS accounts.", id), map[string]any{"public": false})
	}
	obs := map[string]any{"public": true, "restorable_by": "all"}
	if s.permsErr != nil {
		obs["permission_error"] = s.permsErr.Error()
	} else {
		obs["create_volume_permission"] = permissions(s.perms)
	}
	return finding(checkEBSSnapshotPublic, s.arn, evidence.Fail,
		fmt.Sprintf("EBS snapshot %s is public: any AWS account can create a volume from it.", id), obs)
}

func snapshotEncrypted(s *snapState) evidence.Finding {
	id := aws.ToString(s.snap.SnapshotId)
	obs := map[string]any{"encrypted": aws.ToBool(s.snap.Encrypted), "volume_id": aws.ToString(s.snap.VolumeId)}
	if !aws.ToBool(s.snap.Encrypted) {
		return finding(checkEBSSnapshotEncrypted, s.arn, evidence.Fail, fmt.Sprintf("EBS snapshot %s is not encrypted.", id), obs)
	}
	obs["kms_key_id"] = aws.ToString(s.snap.KmsKeyId)
	return finding(checkEBSSnapshotEncrypted, s.arn, evidence.Pass, fmt.Sprintf("EBS snapshot %s is encrypted with KMS key %s.", id, aws.ToString(s.snap.KmsKeyId)), obs)
}
