package cluster_test

import (
	"os"
	"testing"

	"github.com/drover-io/drover/cluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }
