// Package all is the explicit list of collectors built into exhibit.
package all

import (
	awscollector "github.com/exhibit-dev/exhibit/collectors/aws"
	"github.com/exhibit-dev/exhibit/collectors/github"
	"github.com/exhibit-dev/exhibit/collectors/identity"
	"github.com/exhibit-dev/exhibit/collectors/okta"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Registry returns a registry holding every built-in collector.
func Registry() *collector.Registry {
	r := collector.NewRegistry()
	Register(r)
	return r
}

// Register adds every built-in collector to r.
func Register(r *collector.Registry) {
	for _, group := range [][]collector.Factory{
		awscollector.Factories(),
		github.Factories(),
		okta.Factories(),
		// Last: it reads what the others stored.
		identity.Factories(),
	} {
		for _, f := range group {
			r.Register(f)
		}
	}
}
