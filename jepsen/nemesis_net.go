package jepsen

import "fmt"

// grudge maps a node to the nodes whose packets it drops (iptables INPUT
// rules in its own namespace). A symmetric cut lists both directions.
type grudge map[*Node][]*Node

func (g grudge) cut(a, b []*Node) {
	for _, x := range a {
		for _, y := range b {
			g[x] = append(g[x], y)
			g[y] = append(g[y], x)
		}
	}
}

func (nm *Nemesis) partition(kind string) (*fault, error) {
	nodes := nm.pick(len(nm.c.Nodes()))
	nm.rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	g := grudge{}
	var detail string
	var target *Node
	switch kind {
	case NemPartitionLeader:
		l, why := nm.leaderOrRandom()
		g.cut([]*Node{l}, others(nodes, l))
		detail, target = "isolated "+l.ID+" ("+why+")", l
	case NemPartitionRandom:
		g.cut(nodes[:1], nodes[1:])
		detail = "isolated " + nodes[0].ID
	case NemPartitionHalves:
		k := len(nodes) / 2
		g.cut(nodes[:k], nodes[k:])
		detail = fmt.Sprintf("%v | %v", ids(nodes[:k]), ids(nodes[k:]))
	case NemPartitionBridge:
		k := 1 + (len(nodes)-1)/2
		g.cut(nodes[1:k], nodes[k:])
		detail = fmt.Sprintf("%v | %v, bridge %s", ids(nodes[1:k]), ids(nodes[k:]), nodes[0].ID)
	case NemPartitionRing:
		if len(nodes) < 5 {
			return nil, fmt.Errorf("jepsen: majority ring needs 5 nodes, have %d", len(nodes))
		}
		ringGrudge(g, nodes)
		detail = fmt.Sprintf("ring %v, each sees its neighbours", ids(nodes))
	case NemPartitionOneWay:
		x := nodes[0]
		if nm.rng.Intn(2) == 0 {
			g[x] = others(nodes, x)
			detail = x.ID + " hears nobody (its packets still go out)"
		} else {
			for _, y := range others(nodes, x) {
				g[y] = []*Node{x}
			}
			detail = "nobody hears " + x.ID + " (it still hears them)"
		}
	}
	if err := nm.applyGrudge(g); err != nil {
		nm.c.env.FlushRules()
		return nil, err
	}
	return &fault{Kind: kind, Nodes: ids(nodes), Detail: detail, target: target, heal: nm.c.env.FlushRules}, nil
}

// ringGrudge: nodes in a ring, each hears itself and the nodes within
// distance (majority-1)/2, so every node sees a majority but no two
// nodes' majorities are the same.
func ringGrudge(g grudge, nodes []*Node) {
	n := len(nodes)
	reach := (n/2 + 1 - 1) / 2
	for i, x := range nodes {
		for j, y := range nodes {
			d := (j - i + n) % n
			if d > n-d {
				d = n - d
			}
			if d > reach {
				g[x] = append(g[x], y)
			}
		}
	}
}

func others(nodes []*Node, x *Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		if n != x {
			out = append(out, n)
		}
	}
	return out
}

func (nm *Nemesis) applyGrudge(g grudge) error {
	for x, from := range g {
		for _, y := range from {
			if err := nm.c.env.Iptables(x.Slot, "-A", "INPUT", "-s", y.Slot.IP, "-j", "DROP"); err != nil {
				return err
			}
		}
	}
	return nil
}

// loss drops a random share of the packets between members, both ways.
func (nm *Nemesis) loss() (*fault, error) {
	nodes := nm.c.Nodes()
	p := 0.1 + 0.3*nm.rng.Float64()
	prob := fmt.Sprintf("%.2f", p)
	for _, x := range nodes {
		for _, y := range others(nodes, x) {
			err := nm.c.env.Iptables(x.Slot, "-A", "INPUT", "-s", y.Slot.IP,
				"-m", "statistic", "--mode", "random", "--probability", prob, "-j", "DROP")
			if err != nil {
				nm.c.env.FlushRules()
				return nil, err
			}
		}
	}
	return &fault{Kind: NemLoss, Nodes: ids(nodes), Detail: "drop " + prob + " of packets on every link",
		heal: nm.c.env.FlushRules}, nil
}
