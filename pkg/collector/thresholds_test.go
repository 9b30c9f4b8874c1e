package collector

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThresholdsValidateVulnSLA(t *testing.T) {
	require.NoError(t, DefaultThresholds().Validate())
	for name, tc := range map[string]struct {
		edit func(*Thresholds)
		want string
	}{
		"zero critical":             {func(th *Thresholds) { th.VulnSLACriticalDays = 0 }, "vuln_sla_critical_days: must be at least 1"},
		"negative medium":           {func(th *Thresholds) { th.VulnSLAMediumDays = -1 }, "vuln_sla_medium_days: must be at least 1"},
		"critical longer than high": {func(th *Thresholds) { th.VulnSLACriticalDays = 45 }, "vuln_sla_critical_days: 45 is longer than vuln_sla_high_days (30)"},
		"high longer than medium":   {func(th *Thresholds) { th.VulnSLAHighDays = 120 }, "vuln_sla_high_days: 120 is longer than vuln_sla_medium_days (90)"},
	} {
		t.Run(name, func(t *testing.T) {
			th := DefaultThresholds()
			tc.edit(&th)
			require.ErrorContains(t, th.Validate(), tc.want)
		})
	}
	th := DefaultThresholds()
	th.VulnSLACriticalDays, th.VulnSLAHighDays, th.VulnSLAMediumDays = 7, 7, 7
	require.NoError(t, th.Validate(), "equal SLAs are allowed")
}

func TestThresholdsValidateAdminAssignmentAccounts(t *testing.T) {
	th := DefaultThresholds()
	require.Equal(t, 3, th.AdminAssignmentAccounts)
	th.AdminAssignmentAccounts = 0
	require.ErrorContains(t, th.Validate(), "admin_assignment_accounts: must be at least 1, got 0")
}
