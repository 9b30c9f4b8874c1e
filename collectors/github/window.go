package github

import (
	"errors"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

const defaultLookbackDays = 90

// window is the half-open period [Start, End) that one run's period
// evidence covers. A pull request belongs to the window its merge time
// falls in, so consecutive runs (the next starting where this one ends)
// neither miss nor repeat one.
type window struct {
	Start, End time.Time
}

func (w window) contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

func (w window) evidence() *evidence.Window {
	return &evidence.Window{Start: w.Start, End: w.End}
}

// runWindow starts where the series' last complete snapshot ended, or on a
// first run LookbackDays before now.
func runWindow(req collector.Request, lookbackDays int) (window, error) {
	if req.Now.IsZero() {
		return window{}, errors.New("request has no reference time")
	}
	end := req.Now.UTC()
	start := req.Since.UTC()
	if req.Since.IsZero() {
		if lookbackDays <= 0 {
			lookbackDays = defaultLookbackDays
		}
		start = end.AddDate(0, 0, -lookbackDays)
	}
	if start.After(end) {
		return window{}, errors.New("window starts after it ends: since is later than now")
	}
	return window{Start: start, End: end}, nil
}
