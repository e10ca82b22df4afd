package jepsen

import (
	"errors"
	"time"
)

// kill sends SIGKILL to one node, the leader, a minority or everyone; the
// heal restarts them with their data.
func (nm *Nemesis) kill(kind string) (*fault, error) {
	var victims []*Node
	detail := ""
	switch kind {
	case NemKillOne:
		victims = nm.pick(1)
	case NemKillLeader:
		l, why := nm.leaderOrRandom()
		victims, detail = []*Node{l}, why
	case NemKillMinority:
		victims = nm.pick((len(nm.c.Nodes()) - 1) / 2)
	case NemKillAll:
		victims = nm.c.Nodes()
	}
	for _, n := range victims {
		n.Resume()
		n.Kill()
	}
	heal := func() error {
		var errs []error
		for _, n := range victims {
			errs = append(errs, nm.c.restart(n))
		}
		return errors.Join(errs...)
	}
	return &fault{Kind: kind, Nodes: ids(victims), Detail: detail, heal: heal}, nil
}

// pauseLeader stops the leader with SIGSTOP; the heal continues it.
func (nm *Nemesis) pauseLeader() (*fault, error) {
	l, why := nm.leaderOrRandom()
	l.Pause()
	return &fault{Kind: NemPauseLeader, Nodes: []string{l.ID}, Detail: why,
		heal: func() error { l.Resume(); return nil }}, nil
}

// memberAdd starts a fresh node in a spare slot; it stays a member.
func (nm *Nemesis) memberAdd() (*fault, error) {
	n, err := nm.c.addNode()
	if err != nil {
		return nil, err
	}
	return &fault{Kind: NemMemberAdd, Nodes: []string{n.ID}, Detail: "joined by gossip"}, nil
}

// memberRejoin removes a random non-leader member, wipes its data and
// starts it again under a new id (an old id with a wiped log could vote
// twice in one term).
func (nm *Nemesis) memberRejoin() (*fault, error) {
	l := nm.c.Leader()
	var cands []*Node
	for _, n := range nm.c.Nodes() {
		if n != l && n.Running() {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return nil, errors.New("jepsen: no running non-leader to rejoin")
	}
	n := cands[nm.rng.Intn(len(cands))]
	old, err := nm.c.rejoinFresh(n, 20*time.Second)
	if err != nil {
		// Leave it running under its old id so the run can go on.
		nm.c.restart(n)
		return nil, err
	}
	return &fault{Kind: NemMemberRejoin, Nodes: []string{old, n.ID},
		Detail: "removed " + old + ", wiped, rejoined as " + n.ID}, nil
}
