package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RemoveTemps removes the temporary files that writes interrupted by a
// crash left behind, and returns their paths. A writer calls it at start;
// the files hold nothing that was stored, since a Put is only done once its
// temporary file is linked to the final name.
//
// Another process writing to the same directory at that moment may lose its
// in-flight temporary file: its Put then fails (the link finds no file) or
// reports an error after linking, and the agent spools the snapshot and
// writes it again later, finding its own bytes if they were stored. So
// evidence is never lost, only delayed.
func (s *Store) RemoveTemps() ([]string, error) {
	var removed []string
	var errs []error
	err := filepath.WalkDir(s.root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			errs = append(errs, err)
			return nil
		}
		removed = append(removed, p)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("remove temporary files in %s: %w", s.root, err)
	}
	return removed, nil
}
