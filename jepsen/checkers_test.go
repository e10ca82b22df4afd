package jepsen

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hist builds a history from ops, numbering them; Time is taken as given.
func hist(ops ...Op) []Op {
	for i := range ops {
		ops[i].Index = i
	}
	return ops
}

func reg(t int64, typ string, proc int, f string, value int64, rev, expect uint64) Op {
	return Op{Time: t, Type: typ, Process: proc, Workload: "register", F: f, Key: "k",
		Value: value, Rev: rev, Expect: expect}
}

func TestCheckRegister(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		want bool
	}{
		{"sequential ok", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
			reg(20, TypeInvoke, 0, "read", 0, 0, 0), reg(30, TypeOK, 0, "read", 1, 5, 0),
			reg(40, TypeInvoke, 0, "cas", 2, 0, 5), reg(50, TypeOK, 0, "cas", 2, 7, 5),
			reg(60, TypeInvoke, 1, "read", 0, 0, 0), reg(70, TypeOK, 1, "read", 2, 7, 0),
		), true},
		{"stale read", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
			reg(20, TypeInvoke, 0, "write", 2, 0, 0), reg(30, TypeOK, 0, "write", 2, 6, 0),
			reg(40, TypeInvoke, 1, "read", 0, 0, 0), reg(50, TypeOK, 1, "read", 1, 5, 0),
		), false},
		{"lost update seen by a read", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
			reg(20, TypeInvoke, 1, "read", 0, 0, 0), reg(30, TypeOK, 1, "read", 0, 3, 0),
		), false},
		{"cas won on a stale revision", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
			reg(20, TypeInvoke, 0, "write", 2, 0, 0), reg(30, TypeOK, 0, "write", 2, 6, 0),
			reg(40, TypeInvoke, 1, "cas", 3, 0, 5), reg(50, TypeOK, 1, "cas", 3, 8, 5),
		), false},
		{"cas refused on the current revision", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
			reg(20, TypeInvoke, 1, "cas", 3, 0, 5),
			Op{Time: 30, Type: TypeFail, Process: 1, Workload: "register", F: "cas", Key: "k", Error: errRevision},
		), false},
		{"indeterminate write seen later", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeInfo, 0, "write", 1, 0, 0),
			reg(20, TypeInvoke, 1, "read", 0, 0, 0), reg(30, TypeOK, 1, "read", 0, 2, 0),
			reg(40, TypeInvoke, 1, "read", 0, 0, 0), reg(50, TypeOK, 1, "read", 1, 9, 0),
		), true},
		{"indeterminate write never applied", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0),
			reg(20, TypeInvoke, 1, "read", 0, 0, 0), reg(30, TypeOK, 1, "read", 0, 2, 0),
		), true},
		{"two writes share an entry's revision", hist(
			reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(0, TypeInvoke, 1, "write", 2, 0, 0),
			reg(10, TypeOK, 0, "write", 1, 5, 0), reg(10, TypeOK, 1, "write", 2, 5, 0),
			reg(20, TypeInvoke, 2, "read", 0, 0, 0), reg(30, TypeOK, 2, "read", 2, 5, 0),
		), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckRegister(tt.ops, 10*time.Second)
			if got.Valid() != tt.want {
				t.Errorf("CheckRegister(%s) = %s, want valid=%v", tt.name, got.Result, tt.want)
			}
		})
	}
}

func TestRegisterHTMLHasNemesis(t *testing.T) {
	ops := hist(
		Op{Time: 1, Workload: "nemesis", Type: TypeInfo, F: NemPartitionLeader, Phase: "start", Nodes: []string{"n1"}},
		reg(0, TypeInvoke, 0, "write", 1, 0, 0), reg(10, TypeOK, 0, "write", 1, 5, 0),
		reg(20, TypeInvoke, 1, "read", 0, 0, 0), reg(30, TypeOK, 1, "read", 0, 3, 0),
		Op{Time: 40, Workload: "nemesis", Type: TypeInfo, F: NemPartitionLeader, Phase: "stop"},
	)
	r := CheckRegister(ops, 10*time.Second)
	path := filepath.Join(t.TempDir(), "register.html")
	if err := WriteRegisterHTML(r, ops, path); err != nil {
		t.Fatalf("WriteRegisterHTML: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), NemPartitionLeader) {
		t.Errorf("register.html does not mention the nemesis window %q", NemPartitionLeader)
	}
}

func set(t int64, typ string, proc int, f, name string, names ...string) Op {
	return Op{Time: t, Type: typ, Process: proc, Workload: "set", F: f, Name: name, Names: names}
}

func TestCheckSet(t *testing.T) {
	adds := []Op{
		set(0, TypeInvoke, 0, "add", "a"), set(1, TypeOK, 0, "add", "a"),
		set(2, TypeInvoke, 0, "add", "b"), set(3, TypeOK, 0, "add", "b"),
		set(4, TypeInvoke, 1, "add", "c"), set(5, TypeInfo, 1, "add", "c"),
		set(6, TypeInvoke, 2, "add", "d"), set(7, TypeFail, 2, "add", "d"),
	}
	read := func(names ...string) []Op {
		return append(append([]Op(nil), adds...), set(8, TypeInvoke, 9, "read", ""), set(9, TypeOK, 9, "read", "", names...))
	}
	tests := []struct {
		name string
		ops  []Op
		want string // "" = valid, else the field that must be non-empty
	}{
		{"all there, unknown one absent", read("a", "b"), ""},
		{"all there, unknown one present", read("a", "b", "c"), ""},
		{"lost acknowledged write", read("a"), "lost"},
		{"invented name", read("a", "b", "x"), "invented"},
		{"refused add present", read("a", "b", "d"), "revived"},
		{"no final read", adds, "noread"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckSet(hist(tt.ops...))
			bad := map[string]bool{"lost": len(got.Lost) > 0, "invented": len(got.Invented) > 0,
				"revived": len(got.Revived) > 0, "noread": got.NoRead}
			if tt.want == "" && !got.Valid() || tt.want != "" && (!bad[tt.want] || got.Valid()) {
				t.Errorf("CheckSet(%s) = %s, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func route(t int64, typ string, proc int, f, node string, worker uint64, sig string) Op {
	return Op{Time: t, Type: typ, Process: proc, Workload: "route", F: f, Node: node, Key: "ep",
		Worker: worker, Sig: sig}
}

func TestCheckRoute(t *testing.T) {
	s := int64(time.Second)
	base := []Op{
		route(0, TypeInvoke, 0, "register", "", 1, ""), route(1, TypeOK, 0, "register", "", 1, ""),
		route(2, TypeInvoke, 0, "register", "", 2, ""), route(3, TypeOK, 0, "register", "", 2, ""),
		route(s, TypeInvoke, 0, "remove", "", 1, ""), route(2*s, TypeOK, 0, "remove", "", 1, ""),
	}
	call := func(at int64, worker uint64, sig string) []Op {
		return append(append([]Op(nil), base...),
			route(at, TypeInvoke, 1, "route", "n1", 0, ""), route(at+10, TypeOK, 1, "route", "n1", worker, sig))
	}
	tests := []struct {
		name string
		ops  []Op
		want bool
	}{
		{"live worker", call(10*s, 2, "ok"), true},
		{"removed worker within the staleness bound", call(4*s, 1, "ok"), true},
		{"route to a removed worker", call(10*s, 1, "ok"), false},
		{"never registered worker", call(10*s, 7, "ok"), false},
		{"bad signature", call(10*s, 2, "bad"), false},
		{"not ready answer", call(10*s, 0, "ok"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckRoute(hist(tt.ops...), 5*time.Second)
			if got.Valid() != tt.want {
				t.Errorf("CheckRoute(%s) = %v, want valid=%v", tt.name, got.Violations, tt.want)
			}
		})
	}
}

func TestCheckScale(t *testing.T) {
	live := func(id, intent string) Instance { return Instance{ID: id, Intent: intent, Endpoint: "ep", Live: true} }
	max := map[string]int{"ep": 2}
	tests := []struct {
		name    string
		samples []ScaleSample
		final   []Instance
		known   map[string]bool
		want    bool
	}{
		{"fine", []ScaleSample{{Instances: []Instance{live("i1", "a"), live("i2", "b")}, MaxWorkers: max}},
			[]Instance{live("i1", "a")}, map[string]bool{"i1": true}, true},
		{"duplicated create", []ScaleSample{{Instances: []Instance{live("i1", "a"), live("i2", "a")}, MaxWorkers: max}},
			nil, nil, false},
		{"max_workers exceeded", []ScaleSample{{Instances: []Instance{live("i1", "a"), live("i2", "b"), live("i3", "c")}, MaxWorkers: max}},
			nil, nil, false},
		{"instance unknown after heal", nil, []Instance{live("i9", "z")}, map[string]bool{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckScale(tt.samples, tt.final, tt.known)
			if got.Valid() != tt.want {
				t.Errorf("CheckScale(%s) = %v, want valid=%v", tt.name, got.Violations, tt.want)
			}
		})
	}
}

func TestLeaderViolations(t *testing.T) {
	tests := []struct {
		name    string
		leaders map[uint64]map[string]bool
		want    int
	}{
		{"one per term", map[uint64]map[string]bool{2: {"n1": true}, 3: {"n2": true}}, 0},
		{"two in one term", map[uint64]map[string]bool{2: {"n1": true, "n3": true}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := leaderViolations(tt.leaders); len(got) != tt.want {
				t.Errorf("leaderViolations(%s) = %v, want %d", tt.name, got, tt.want)
			}
		})
	}
}

func TestVerifyURL(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://10.77.0.1:9/routew1001"
	sum := sha256.Sum256([]byte("{\n    \"url\": \"" + url + "\"\n}"))
	raw, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name, url, sig string
		want           bool
	}{
		{"signed url", url, sig, true},
		{"other url", url + "x", sig, false},
		{"garbage", url, "not base64!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifyURL(&key.PublicKey, tt.url, tt.sig); got != tt.want {
				t.Errorf("verifyURL(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}
