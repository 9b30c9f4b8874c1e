package main

import (
	"context"

	"github.com/exhibit-dev/exhibit/pkg/controls"
)

func cmdControls(_ context.Context, args []string, s streams) error {
	fs := newFlags("controls", s)
	cfgPath := fs.String("c", "", "configuration `file` whose controls.custom to include")
	asJSON := fs.Bool("json", false, "print JSON for machines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cat *controls.Catalog
	if *cfgPath != "" {
		_, _, c, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		cat = c
	} else {
		c, err := controls.Default()
		if err != nil {
			return err
		}
		cat = c
	}
	if *asJSON {
		return cat.WriteJSON(s.out)
	}
	return cat.WriteTable(s.out)
}
