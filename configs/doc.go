// Package configs holds example configurations, each loaded by a test so
// that none can go stale.
package configs
