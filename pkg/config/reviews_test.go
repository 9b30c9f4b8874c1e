package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReviews(t *testing.T) {
	vars := map[string]string{"EXT_ID": "x", "GITHUB_TOKEN": "y"}
	cfg, err := load(t, good+"reviews: quarterly\n", vars)
	require.NoError(t, err)
	require.Equal(t, "0 0 1 1,4,7,10 *", cfg.Reviews.Spec())
	require.Equal(t, 0, cfg.Reviews.GraceDays)

	cfg, err = load(t, good+"reviews: {schedule: \"0 0 1 */2 *\", grace_days: 7}\n", vars)
	require.NoError(t, err)
	require.Equal(t, "0 0 1 */2 *", cfg.Reviews.Spec())
	require.Equal(t, 7, cfg.Reviews.GraceDays)

	cfg, err = load(t, good, vars)
	require.NoError(t, err)
	require.Nil(t, cfg.Reviews)

	_, err = load(t, good+"reviews: {schedule: fortnightly, grace_days: -1, owner: me}\n", vars)
	require.Error(t, err)
	for _, want := range []string{`reviews.schedule: invalid cron expression "fortnightly"`, "reviews.grace_days: want 0 to 366, got -1", "owner"} {
		require.Contains(t, err.Error(), want)
	}
}
