package main

import (
	"os"
	"testing"

	"github.com/drover-io/drover/cluster/clustertest"
)

// TestMain removes the binary clustertest.Binary built for the tests that
// run `drover dev` (the README tour, the dashboard in a browser).
func TestMain(m *testing.M) {
	os.Exit(clustertest.Main(m))
}
