package awscollector

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// vaultState is one backup vault as ListBackupVaults answers it: the
// Vault Lock fields come in the list, so no vault is read on its own.
type vaultState struct {
	region string
	v      bktypes.BackupVaultListMember
}

func listVaults(ctx context.Context, api backupAPI, region string) ([]vaultState, error) {
	var got []vaultState
	p := backup.NewListBackupVaultsPaginator(api, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list backup vaults: %w", err)
		}
		for _, v := range page.BackupVaultList {
			got = append(got, vaultState{region: region, v: v})
		}
	}
	return got, nil
}

// lockMode names a vault's Vault Lock: none; governance (no lock date:
// principals with permission can still remove it); compliance in its
// grace period (the lock date is ahead, until then it can be removed);
// compliance (immutable since its lock date).
func lockMode(v bktypes.BackupVaultListMember, win backupWindow) string {
	switch {
	case !aws.ToBool(v.Locked) && v.MinRetentionDays == nil && v.MaxRetentionDays == nil:
		return "none"
	case v.LockDate == nil:
		return "governance"
	case v.LockDate.After(win.now):
		return "compliance_grace_period"
	}
	return "compliance"
}

func vaultObserved(v bktypes.BackupVaultListMember, win backupWindow) map[string]any {
	obs := map[string]any{"name": aws.ToString(v.BackupVaultName), "locked": aws.ToBool(v.Locked), "lock_mode": lockMode(v, win)}
	if v.MinRetentionDays != nil {
		obs["min_retention_days"] = aws.ToInt64(v.MinRetentionDays)
	}
	if v.MaxRetentionDays != nil {
		obs["max_retention_days"] = aws.ToInt64(v.MaxRetentionDays)
	}
	if v.LockDate != nil {
		obs["lock_date"] = ts(aws.ToTime(v.LockDate))
	}
	return obs
}

func vaultRecord(region string, v bktypes.BackupVaultListMember, win backupWindow) evidence.Record {
	attrs := vaultObserved(v, win)
	attrs["vault_type"] = string(v.VaultType)
	attrs["vault_state"] = string(v.VaultState)
	attrs["created"] = ts(aws.ToTime(v.CreationDate))
	attrs["recovery_points"] = v.NumberOfRecoveryPoints
	attrs["encryption_key_type"] = string(v.EncryptionKeyType)
	if v.EncryptionKeyArn != nil {
		attrs["encryption_key_arn"] = aws.ToString(v.EncryptionKeyArn)
	}
	return evidence.Record{Type: "aws.backup.vault", ID: aws.ToString(v.BackupVaultArn), Region: region, Attributes: attrs}
}

// vaultLockFindings judges each vault: a Vault Lock configuration (locked,
// or compliance mode still in its grace period, or governance mode) keeps
// recovery points from being deleted or shortened; none is a fail.
func vaultLockFindings(root string, regions []*backupRegion, win backupWindow) []evidence.Finding {
	var out []evidence.Finding
	n := 0
	for _, r := range regions {
		if r.vaultsErr != nil {
			out = append(out, finding(checkBackupVaultLock, root, evidence.Error,
				fmt.Sprintf("The backup vaults of region %s could not be listed, so their Vault Lock was not read.", r.region),
				map[string]any{"region": r.region, "error": r.vaultsErr.Error(), "vaults_listed": len(r.vaults)}))
			continue
		}
		for _, vs := range r.vaults {
			n++
			v := vs.v
			arn, name := aws.ToString(v.BackupVaultArn), aws.ToString(v.BackupVaultName)
			obs := vaultObserved(v, win)
			switch mode := lockMode(v, win); mode {
			case "none":
				out = append(out, finding(checkBackupVaultLock, arn, evidence.Fail,
					fmt.Sprintf("Backup vault %s has no Vault Lock: its recovery points can be deleted before their retention ends.", name), obs))
			case "compliance_grace_period":
				out = append(out, finding(checkBackupVaultLock, arn, evidence.Pass,
					fmt.Sprintf("Backup vault %s has a compliance-mode Vault Lock in its grace period; it becomes immutable on %s.", name, obs["lock_date"]), obs))
			default:
				out = append(out, finding(checkBackupVaultLock, arn, evidence.Pass,
					fmt.Sprintf("Backup vault %s has a %s-mode Vault Lock (minimum retention %v days).", name, mode, obs["min_retention_days"]), obs))
			}
		}
	}
	if n == 0 && len(out) == 0 {
		out = append(out, finding(checkBackupVaultLock, root, evidence.NotApplicable, "The account has no backup vault in the regions read.", map[string]any{"vaults": 0}))
	}
	return out
}
