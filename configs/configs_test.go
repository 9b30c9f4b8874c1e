package configs

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/config"
)

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	t.Setenv("EXHIBIT_EXTERNAL_ID", "example-external-id")
	t.Setenv("GITHUB_TOKEN", "example-token")
	t.Setenv("OKTA_API_TOKEN", "example-token")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, err := config.Load(f, all.Registry())
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Collectors)
		})
	}
}
