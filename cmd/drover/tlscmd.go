package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

const tlsUsage = `usage: drover tls ca create [--dir D] [--cluster-id ID] [--days N]
       drover tls cert create --server [--id ID] [--dns a,b] [--ip x,y] [--dir D] [--ca F] [--ca-key F] [--days N]
       drover tls cert create --client [--name NAME] [--dir D] [--ca F] [--ca-key F] [--days N]

ca create writes drover-ca.pem and drover-ca-key.pem: the cluster's CA and
its id (keep the key offline: whoever holds it can add nodes).
cert create --server writes drover-server-<id>.pem and -key.pem, for the
agent's --tls-cert/--tls-key: the node id is bound to the certificate.
cert create --client writes drover-client-<name>.pem and -key.pem, for tools
that only read a node's status on the cluster port.
`

// runTLS runs `drover tls ca create` and `drover tls cert create`.
func runTLS(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[1] != "create" || (args[0] != "ca" && args[0] != "cert") {
		fmt.Fprint(stderr, tlsUsage)
		return exitUsage
	}
	if args[0] == "ca" {
		return runTLSCACreate(args[2:], stdout, stderr)
	}
	return runTLSCertCreate(args[2:], stdout, stderr)
}

func runTLSCACreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover tls ca create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory to write the files into")
	clusterID := fs.String("cluster-id", "", "the cluster's id (default: random); give the old one to make a CA that replaces it")
	days := fs.Int("days", int(pki.DefaultCAValidity/(24*time.Hour)), "validity in days")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return cliFail(stderr, "tls ca create", usageErr(err, fs))
	}
	ca, err := pki.NewCA(*clusterID, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return cliFail(stderr, "tls ca create", err)
	}
	certFile, keyFile := filepath.Join(*dir, pki.CAFile), filepath.Join(*dir, pki.CAKeyFile)
	if err := writeKeyPair(certFile, keyFile, ca.CertPEM, ca.KeyPEM); err != nil {
		return cliFail(stderr, "tls ca create", err)
	}
	fmt.Fprintf(stdout, "cluster id %s\nwrote %s\nwrote %s (keep it offline: whoever holds it can add nodes)\n", ca.ClusterID, certFile, keyFile)
	return exitOK
}

func runTLSCertCreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover tls cert create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.Bool("server", false, "a node (server) certificate")
	client := fs.Bool("client", false, "a client certificate")
	host, _ := os.Hostname()
	id := fs.String("id", host, "node id (--server): the agent's --id must be the same")
	name := fs.String("name", "cli", "client name (--client)")
	var dns, ips commaList
	fs.Var(&dns, "dns", "comma-separated extra DNS names (--server); the id, the host name and localhost are always in")
	fs.Var(&ips, "ip", "comma-separated extra IP addresses (--server); loopback and this host's addresses are always in")
	dir := fs.String("dir", ".", "directory to write the files into")
	caFile := fs.String("ca", "", "CA certificate (default: drover-ca.pem in --dir)")
	caKey := fs.String("ca-key", "", "CA key (default: drover-ca-key.pem in --dir)")
	days := fs.Int("days", int(pki.DefaultCertValidity/(24*time.Hour)), "validity in days")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return cliFail(stderr, "tls cert create", usageErr(err, fs))
	}
	if *server == *client {
		return cliFail(stderr, "tls cert create", usageErrorf("give exactly one of --server and --client"))
	}
	if *caFile == "" {
		*caFile = filepath.Join(*dir, pki.CAFile)
	}
	if *caKey == "" {
		*caKey = filepath.Join(*dir, pki.CAKeyFile)
	}
	ca, err := pki.LoadCA(*caFile, *caKey)
	if err != nil {
		return cliFail(stderr, "tls cert create", fmt.Errorf("%w (make one with `drover tls ca create`)", err))
	}
	req := pki.CertRequest{Role: pki.RoleClient, Name: *name, Validity: time.Duration(*days) * 24 * time.Hour}
	certName, keyName := pki.ClientCertFiles(*name)
	if *server {
		req.Role, req.Name = pki.RoleNode, *id
		names := append([]string{*id, host}, pki.LoopbackSANs...)
		names = append(append(append(names, dns...), ips...), hostIPs()...)
		for _, s := range ips {
			if net.ParseIP(s) == nil {
				return cliFail(stderr, "tls cert create", fmt.Errorf("--ip %q is not an IP address", s))
			}
		}
		req.DNSNames, req.IPs = pki.SplitSANs(names)
		certName, keyName = pki.ServerCertFiles(*id)
	}
	is, err := ca.Issue(req)
	if err != nil {
		return cliFail(stderr, "tls cert create", err)
	}
	certFile, keyFile := filepath.Join(*dir, certName), filepath.Join(*dir, keyName)
	if err := writeKeyPair(certFile, keyFile, is.CertPEM, is.KeyPEM); err != nil {
		return cliFail(stderr, "tls cert create", err)
	}
	fmt.Fprintf(stdout, "identity %s\n", is.Identity)
	if *server {
		fmt.Fprintf(stdout, "names %v %v\n", is.Cert.DNSNames, is.Cert.IPAddresses)
	}
	fmt.Fprintf(stdout, "wrote %s\nwrote %s\n", certFile, keyFile)
	return exitOK
}

// writeKeyPair writes a certificate (0644) and its key (0600), never over
// an existing file.
func writeKeyPair(certFile, keyFile string, certPEM, keyPEM []byte) error {
	if _, err := os.Stat(keyFile); err == nil {
		return fmt.Errorf("%s exists (remove it first to replace it)", keyFile)
	}
	if err := pki.WriteNew(certFile, certPEM, 0o644); err != nil {
		return err
	}
	return pki.WriteNew(keyFile, keyPEM, 0o600)
}

// hostIPs lists this host's unicast interface addresses.
func hostIPs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() || ok && ipn.IP.IsPrivate() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// runKeygen prints a new gossip key (`drover keygen > gossip.key`).
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return cliFail(stderr, "keygen", usageErr(err, fs))
	}
	fmt.Fprintln(stdout, pki.NewGossipKey())
	return exitOK
}

// usageErr is the flag error (already printed by the flag set), or an
// "unexpected argument" usage error.
func usageErr(err error, fs *flag.FlagSet) error {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		return usageError{msg: err.Error(), printed: true}
	}
	return usageErrorf("unexpected argument %q", fs.Arg(0))
}
