package routesim

import (
	"strings"
	"testing"
)

// TestRoutersOnSyntheticConversations: multi-turn conversations, each turn
// extending its prefix; the cache-aware routers must hit far more than
// load-only and stay within the oracle's reach.
func TestRoutersOnSyntheticConversations(t *testing.T) {
	var b strings.Builder
	next := uint64(0)
	type conv struct{ blocks []uint64 }
	convs := make([]conv, 40)
	ms := 0
	for turn := range 6 {
		for c := range convs {
			for range 4 {
				convs[c].blocks = append(convs[c].blocks, next)
				next++
			}
			ids := make([]string, len(convs[c].blocks))
			for i, x := range convs[c].blocks {
				ids[i] = itoa(x)
			}
			b.WriteString(`{"timestamp": ` + itoa(uint64(ms)) + `, "input_length": ` + itoa(uint64(len(ids)*512)) +
				`, "output_length": 1, "hash_ids": [` + strings.Join(ids, ", ") + "]}\n")
			ms += 150
			_ = turn
		}
	}
	reqs, err := ReadMooncake(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	res, err := Run(reqs, Routers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Result{}
	for _, r := range res {
		by[r.Name] = r
	}
	if by["drover"].HitRate < 0.9*by["oracle"].HitRate || by["drover"].HitRate < 2*by["load"].HitRate {
		t.Fatalf("drover hit rate %.3f, oracle %.3f, load %.3f", by["drover"].HitRate, by["oracle"].HitRate, by["load"].HitRate)
	}
	if by["drover"].TTFTP90 >= by["load"].TTFTP90 {
		t.Fatalf("drover p90 %.3f not below load's %.3f", by["drover"].TTFTP90, by["load"].TTFTP90)
	}
	if _, err := Run(reqs, []string{"nope"}, cfg); err == nil {
		t.Fatal("unknown router accepted")
	}
	if _, err := ReadMooncake(strings.NewReader("{\n")); err == nil {
		t.Fatal("bad trace accepted")
	}
}

func itoa(x uint64) string {
	if x == 0 {
		return "0"
	}
	var d []byte
	for ; x > 0; x /= 10 {
		d = append([]byte{byte('0' + x%10)}, d...)
	}
	return string(d)
}
