// Package pki makes and reads the certificates of a drover cluster: a
// cluster CA, node (server) certificates and client certificates, each
// naming who it belongs to in a URI SAN, and gossip keys.
//
// A cluster is identified by its CA: `drover tls ca create` generates a
// cluster id and writes it into the CA certificate as the URI SAN
// drover://<cluster-id>. Every certificate the CA issues carries
// drover://<cluster-id>/node/<node-id> (servers) or
// drover://<cluster-id>/client/<name> (clients); the transport takes a
// peer's cluster and node id from that URI alone, so a node cannot claim
// another node's id without that node's key.
//
// pki imports the standard library alone.
package pki
