package awscollector

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// settings are the properties judged on a standalone instance or on a
// cluster: for a cluster's members the cluster's own are what count.
type dbSettings struct {
	encrypted          bool
	kmsKey             string
	backupDays         int32
	deletionProtection bool
	multiAZ            bool
}

func (d *database) settings() dbSettings {
	if d.cluster {
		c := d.db
		return dbSettings{aws.ToBool(c.StorageEncrypted), aws.ToString(c.KmsKeyId), aws.ToInt32(c.BackupRetentionPeriod), aws.ToBool(c.DeletionProtection), aws.ToBool(c.MultiAZ)}
	}
	in := d.instance
	return dbSettings{aws.ToBool(in.StorageEncrypted), aws.ToString(in.KmsKeyId), aws.ToInt32(in.BackupRetentionPeriod), aws.ToBool(in.DeletionProtection), aws.ToBool(in.MultiAZ)}
}

func (d *database) noun() string {
	if d.cluster {
		return "DB cluster " + d.id
	}
	return "DB instance " + d.id
}

// databaseRecord inventories an instance or cluster: engine, encryption
// and its key, exposure, backups, deletion protection and Multi-AZ, which
// is recorded and not judged.
func databaseRecord(d *database, phiConf bool) evidence.Record {
	st := d.settings()
	attrs := map[string]any{
		"identifier":            d.id,
		"storage_encrypted":     st.encrypted,
		"backup_retention_days": st.backupDays,
		"deletion_protection":   st.deletionProtection,
		"multi_az":              st.multiAZ,
	}
	if st.kmsKey != "" {
		attrs["kms_key_arn"] = st.kmsKey
	}
	if phiConf {
		attrs["phi"] = d.phi
	}
	if d.cluster {
		c := d.db
		attrs["engine"], attrs["engine_version"], attrs["status"] = aws.ToString(c.Engine), aws.ToString(c.EngineVersion), aws.ToString(c.Status)
		attrs["engine_mode"] = aws.ToString(c.EngineMode)
		if c.ClusterCreateTime != nil {
			attrs["created"] = ts(aws.ToTime(c.ClusterCreateTime))
		}
		members := []map[string]any{}
		for _, m := range c.DBClusterMembers {
			members = append(members, map[string]any{"instance": aws.ToString(m.DBInstanceIdentifier), "writer": aws.ToBool(m.IsClusterWriter)})
		}
		attrs["members"] = members
		return evidence.Record{Type: "aws.rds.cluster", ID: d.arn, Region: d.region, Attributes: attrs}
	}
	in := d.instance
	attrs["engine"], attrs["engine_version"], attrs["status"] = aws.ToString(in.Engine), aws.ToString(in.EngineVersion), aws.ToString(in.DBInstanceStatus)
	attrs["instance_class"] = aws.ToString(in.DBInstanceClass)
	attrs["publicly_accessible"] = aws.ToBool(in.PubliclyAccessible)
	if in.InstanceCreateTime != nil {
		attrs["created"] = ts(aws.ToTime(in.InstanceCreateTime))
	}
	if src := aws.ToString(in.ReadReplicaSourceDBInstanceIdentifier); src != "" {
		attrs["read_replica_of"] = src
	}
	if cl := d.memberOf(); cl != "" {
		// A member's backups, deletion protection and Multi-AZ are its
		// cluster's, recorded and judged there; what the instance answers
		// for them (false, for Aurora) would mislead.
		delete(attrs, "backup_retention_days")
		delete(attrs, "deletion_protection")
		delete(attrs, "multi_az")
		attrs["cluster"] = cl
		if d.parent != nil {
			attrs["settings_judged_on"] = d.parent.arn
		}
	}
	return evidence.Record{Type: "aws.rds.instance", ID: d.arn, Region: d.region, Attributes: attrs}
}

// databaseFindings judges an instance or cluster. Publicly accessible is
// an instance's own; the other three belong to a cluster when the instance
// is a member of one, and are judged on the cluster's ARN alone.
func databaseFindings(d *database, minDays int) []evidence.Finding {
	var out []evidence.Finding
	if !d.cluster {
		out = append(out, notPublic(d))
	}
	switch {
	case d.memberOf() == "":
		st := d.settings()
		out = append(out, storageEncrypted(d, st), backupRetention(d, st, minDays), deletionProtection(d, st))
	case d.parentErr != nil:
		for _, chk := range []string{checkRDSEncrypted, checkRDSBackupRetention, checkRDSDeletionProtection} {
			out = append(out, finding(chk, d.arn, evidence.Error,
				fmt.Sprintf("%s belongs to DB cluster %s, whose settings hold this, and the cluster could not be read.", d.noun(), d.memberOf()),
				map[string]any{"cluster": d.memberOf(), "error": d.parentErr.Error()}))
		}
	}
	return out
}

func notPublic(d *database) evidence.Finding {
	public := aws.ToBool(d.instance.PubliclyAccessible)
	obs := map[string]any{"publicly_accessible": public}
	if ep := d.instance.Endpoint; ep != nil {
		obs["endpoint"] = aws.ToString(ep.Address)
	}
	if public {
		return finding(checkRDSNotPublic, d.arn, evidence.Fail, fmt.Sprintf("%s is publicly accessible: its endpoint resolves to a public address.", d.noun()), obs)
	}
	return finding(checkRDSNotPublic, d.arn, evidence.Pass, fmt.Sprintf("%s is not publicly accessible.", d.noun()), obs)
}

func storageEncrypted(d *database, st dbSettings) evidence.Finding {
	obs := map[string]any{"storage_encrypted": st.encrypted}
	if !st.encrypted {
		return finding(checkRDSEncrypted, d.arn, evidence.Fail, fmt.Sprintf("%s does not encrypt its storage.", d.noun()), obs)
	}
	obs["kms_key_arn"] = st.kmsKey
	return finding(checkRDSEncrypted, d.arn, evidence.Pass, fmt.Sprintf("%s encrypts its storage with KMS key %s.", d.noun(), st.kmsKey), obs)
}

func backupRetention(d *database, st dbSettings, minDays int) evidence.Finding {
	obs := map[string]any{"backup_retention_days": st.backupDays, "minimum_days": minDays}
	switch {
	case int(st.backupDays) >= minDays:
		return finding(checkRDSBackupRetention, d.arn, evidence.Pass, fmt.Sprintf("%s keeps automated backups for %s.", d.noun(), dayCount(st.backupDays)), obs)
	case d.instance != nil && aws.ToString(d.instance.ReadReplicaSourceDBInstanceIdentifier) != "":
		// A replica is restored from its source's backups, judged there.
		src := aws.ToString(d.instance.ReadReplicaSourceDBInstanceIdentifier)
		obs["read_replica_of"] = src
		return finding(checkRDSBackupRetention, d.arn, evidence.NotApplicable, fmt.Sprintf("%s is a read replica of %s, whose automated backups are judged on the source.", d.noun(), src), obs)
	case st.backupDays == 0:
		return finding(checkRDSBackupRetention, d.arn, evidence.Fail, fmt.Sprintf("%s has automated backups turned off (retention 0 days).", d.noun()), obs)
	}
	return finding(checkRDSBackupRetention, d.arn, evidence.Fail, fmt.Sprintf("%s keeps automated backups for %s, fewer than %d.", d.noun(), dayCount(st.backupDays), minDays), obs)
}

func deletionProtection(d *database, st dbSettings) evidence.Finding {
	obs := map[string]any{"deletion_protection": st.deletionProtection}
	if st.deletionProtection {
		return finding(checkRDSDeletionProtection, d.arn, evidence.Pass, fmt.Sprintf("%s has deletion protection on.", d.noun()), obs)
	}
	return finding(checkRDSDeletionProtection, d.arn, evidence.Fail, fmt.Sprintf("%s can be deleted: deletion protection is off.", d.noun()), obs)
}

func (s *snapshot) noun() string {
	if s.cluster {
		return "Manual DB cluster snapshot " + s.id
	}
	return "Manual DB snapshot " + s.id
}

// sharedWith is the accounts a snapshot is shared with, "all" aside.
func (s *snapshot) sharedWith() []string {
	out := []string{}
	for _, v := range s.restore {
		if v != "all" {
			out = append(out, v)
		}
	}
	return out
}

func dbSnapshotRecord(s *snapshot, phiConf bool) evidence.Record {
	typ := "aws.rds.snapshot"
	if s.cluster {
		typ = "aws.rds.cluster_snapshot"
	}
	attrs := map[string]any{"identifier": s.id, "source": s.source, "engine": s.engine, "snapshot_type": "manual", "encrypted": s.encrypted}
	if s.kmsKey != "" {
		attrs["kms_key_arn"] = s.kmsKey
	}
	if s.created != nil {
		attrs["created"] = ts(aws.ToTime(s.created))
	}
	if s.attrsErr == nil {
		attrs["public"] = slices.Contains(s.restore, "all")
		attrs["shared_with"] = s.sharedWith()
	}
	if phiConf {
		attrs["phi"] = s.phi
	}
	return evidence.Record{Type: typ, ID: s.arn, Region: s.region, Attributes: attrs}
}

func dbSnapshotEncrypted(s *snapshot) evidence.Finding {
	obs := map[string]any{"encrypted": s.encrypted, "source": s.source}
	if !s.encrypted {
		return finding(checkRDSSnapshotEncrypted, s.arn, evidence.Fail, s.noun()+" is not encrypted.", obs)
	}
	obs["kms_key_arn"] = s.kmsKey
	return finding(checkRDSSnapshotEncrypted, s.arn, evidence.Pass, fmt.Sprintf("%s is encrypted with KMS key %s.", s.noun(), s.kmsKey), obs)
}

func dbSnapshotNotPublic(s *snapshot) evidence.Finding {
	if s.attrsErr != nil {
		return finding(checkRDSSnapshotPublic, s.arn, evidence.Error, "The snapshot's attributes could not be read, so whether it is shared publicly is unknown.",
			map[string]any{"error": s.attrsErr.Error()})
	}
	shared := s.sharedWith()
	obs := map[string]any{"restore": s.restore, "shared_with": shared}
	if slices.Contains(s.restore, "all") {
		obs["public"] = true
		return finding(checkRDSSnapshotPublic, s.arn, evidence.Fail, s.noun()+" is public: any AWS account can restore it (restore attribute all).", obs)
	}
	obs["public"] = false
	reason := s.noun() + " is not public and is shared with no other account."
	if len(shared) > 0 {
		reason = fmt.Sprintf("%s is not public; it is shared with %d named account(s).", s.noun(), len(shared))
	}
	return finding(checkRDSSnapshotPublic, s.arn, evidence.Pass, reason, obs)
}

func dayCount(n int32) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
