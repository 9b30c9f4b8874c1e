package main

import (
	"context"
	"errors"
)

func cmdDemo(context.Context, []string, streams) error {
	return errors.New("demo: the simulated estate is not built yet")
}
