package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/transport/pki"
)

// errInsecure: the agent would start without mTLS or a gossip key and
// --insecure was not given.
var errInsecure = errors.New("refusing to start without mTLS on the cluster port and an encrypted gossip key")

// requireSecure refuses an agent that lacks mTLS on the cluster port or a
// gossip key, unless --insecure was given (loopback included: anyone on
// the host, or any container sharing its network, reaches a loopback
// port). The error names what is missing and the commands that make it.
func requireSecure(ac agentConfig, cfg cluster.Config) error {
	if ac.Insecure {
		return nil
	}
	var missing, make []string
	if cfg.TLS == nil {
		missing = append(missing, "--tls-cert, --tls-key and --tls-ca")
		make = append(make,
			"drover tls ca create                          # once per cluster: drover-ca.pem, drover-ca-key.pem (keep the key offline)",
			fmt.Sprintf("drover tls cert create --server --id %-8s # per node: drover-server-%s.pem and drover-server-%s-key.pem", cfg.ID, cfg.ID, cfg.ID))
	}
	if cfg.GossipKey == nil {
		missing = append(missing, "--gossip-key-file (or $"+gossipKeyEnv+")")
		make = append(make, "drover keygen > gossip.key                    # once per cluster, the same file on every server")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: missing %s.\nCreate them with:\n  %s\nor pass --insecure to run without them (never where others reach the ports; see docs/security.md)",
		errInsecure, strings.Join(missing, " and "), strings.Join(make, "\n  "))
}

// clusterIDFor returns the cluster id of an agent using the CA in caFile:
// --cluster-id when given (it must then agree with the CA's), else the
// CA's, else "" (the id in the node's certificate).
func clusterIDFor(caFile, flag string) (string, error) {
	fromCA, err := pki.ClusterIDOfCAFile(caFile)
	switch {
	case errors.Is(err, pki.ErrNoClusterID):
		return flag, nil
	case err != nil:
		return "", err
	case flag != "" && flag != fromCA:
		return "", fmt.Errorf("--cluster-id %q, but the CA in %s is of cluster %q", flag, caFile, fromCA)
	}
	return fromCA, nil
}
