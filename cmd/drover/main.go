package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // failure, including an agent that cannot start
	exitUsage = 2 // bad command line
	exitFatal = 3 // the agent stopped at once (disk stall): a supervisor may restart it
	exitRaft  = 4 // Raft settings that cannot work together: fix the flags, the data is fine
)

const usageText = `usage: drover <command> [flags]

commands:
  agent                                  run one node of a cluster
  dev                                    run a local 3-node cluster (what make run calls)
  endpoint create|list|get|update|delete manage endpoints
  group    create|list|get|update|delete manage worker groups
  cluster  status|remove ID              show or change cluster membership
  members                                the gossip member list (addresses, role)
  operator raft list-peers|remove-peer ID  the Raft configuration with health; remove a server
  snapshot save FILE|restore FILE        back up or restore the whole state
  tls      ca create | cert create --server|--client   make the cluster's CA and node certificates
  keygen                                 print a new gossip key
  sim      --trace FILE | --pattern NAME replay load through the scaling policies
  sim-provider --listen ADDR --state-dir DIR  serve one simulated fleet to every node (--provider-sim)
  decisions [--endpoint N]               the leader's recent scaling decisions and why
  workers  list|drain|stop|destroy ID    list workers, take one out of service by hand
  worker                                 run a Go PyWorker in front of a model server (PyWorker env vars)
  fake-model                             run an OpenAI-style fake model server for tests and demos
  loadgen  --rate R | --trace FILE       send open-loop load through the Go client
  version                                print the version

Run 'drover <command> -h' for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "agent":
		return runAgent(rest, stderr)
	case "dev":
		return runDev(rest, stdout, stderr)
	case "endpoint", "endpoints":
		return runObjects(endpointResource, rest, stdout, stderr)
	case "group", "groups":
		return runObjects(groupResource, rest, stdout, stderr)
	case "cluster":
		return runCluster(rest, stdout, stderr)
	case "members":
		return runMembers(rest, stdout, stderr)
	case "operator":
		return runOperator(rest, stdout, stderr)
	case "snapshot":
		return runSnapshot(rest, stdout, stderr)
	case "tls":
		return runTLS(rest, stdout, stderr)
	case "keygen":
		return runKeygen(rest, stdout, stderr)
	case "worker":
		return runWorker(rest, stderr)
	case "fake-model":
		return runFakeModel(rest, stderr)
	case "sim":
		return runSim(rest, stdout, stderr)
	case "sim-provider":
		return runSimProvider(rest, stderr)
	case "decisions":
		return runDecisions(rest, stdout, stderr)
	case "workers":
		return runWorkers(rest, stdout, stderr)
	case "loadgen":
		return runLoadgen(rest, stdout, stderr)
	case "version", "--version":
		return runVersion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "drover: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}
