package jepsen

import (
	"fmt"
	"time"
)

// Workload names.
const (
	WorkRegister = "register"
	WorkSet      = "set"
	WorkRoute    = "route"
	WorkScale    = "scale"
)

// Config is one cell of the matrix: a cluster size, a fault mix and a
// duration. Zero values are filled in by withDefaults as documented.
type Config struct {
	Name      string        // cell name, part of the output dir ("" = "cell")
	Nodes     int           // cluster size at start (0 = 3)
	Spare     int           // extra slots for member-add (0 = 2)
	Duration  time.Duration // time under faults (0 = 30 s)
	Seed      int64         // fault schedule and client choices (0 = time-based)
	Nemeses   []string      // kinds to draw from (nil = every kind)
	Workloads []string      // nil = register, set, route, scale
	Bin       string        // drover binary (required)
	OutRoot   string        // results go to OutRoot/<run>/ ("" = no files)
	// WriteTimeout is the nodes' --write-timeout (0 = 3 s); ClientTimeout
	// bounds one client call (0 = 5 s, must exceed WriteTimeout).
	WriteTimeout, ClientTimeout time.Duration
	NodeArgs                    []string      // extra agent flags
	StaleAfter                  time.Duration // the nodes' --stale-after (0 = 5 s), for the route checker
	ClientsPerNode              int           // register clients per node (0 = 2)
	SetClients                  int           // set clients (0 = 2)
	HealBound                   time.Duration // leader and write after heal (0 = 30 s)
	ConvergeBound               time.Duration // convergence after heal (0 = 60 s)
	Logf                        func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Name == "" {
		c.Name = "cell"
	}
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Spare == 0 {
		c.Spare = 2
	}
	def(&c.Duration, 30*time.Second)
	def(&c.WriteTimeout, 3*time.Second)
	def(&c.ClientTimeout, 5*time.Second)
	def(&c.StaleAfter, 5*time.Second)
	def(&c.HealBound, 30*time.Second)
	def(&c.ConvergeBound, 60*time.Second)
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() % 1e9
	}
	if c.Nemeses == nil {
		c.Nemeses = AllNemeses
	}
	if c.Workloads == nil {
		c.Workloads = []string{WorkRegister, WorkSet, WorkRoute, WorkScale}
	}
	if c.ClientsPerNode == 0 {
		c.ClientsPerNode = 2
	}
	if c.SetClients == 0 {
		c.SetClients = 2
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Validate reports a config that cannot run.
func (c Config) Validate() error {
	if c.Bin == "" {
		return fmt.Errorf("jepsen: Config.Bin is required")
	}
	if c.ClientTimeout <= c.WriteTimeout {
		return fmt.Errorf("jepsen: ClientTimeout %s must exceed WriteTimeout %s", c.ClientTimeout, c.WriteTimeout)
	}
	for _, k := range c.Nemeses {
		if _, err := (&Nemesis{}).known(k); err != nil {
			return err
		}
	}
	return nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
