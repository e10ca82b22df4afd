package simserver

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
	"github.com/drover-io/drover/scheduler/provider/sim"
)

func TestServerRoundTripAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := New(Config{StateDir: dir, Fleet: sim.Config{CreateDelay: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	c := NewClient(hs.URL)
	a, err := c.Create(ctx, "k1", provider.GroupSpec{EndpointID: 3, GroupID: 4})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Create(ctx, "k1", provider.GroupSpec{EndpointID: 3, GroupID: 4})
	if err != nil || again.ID != a.ID {
		t.Fatalf("Create(k1) twice = %v, %v; want the same instance %s", again.ID, err, a.ID)
	}
	b, _ := c.Create(ctx, "k2", provider.GroupSpec{EndpointID: 3, GroupID: 4})
	if err := c.Destroy(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Start(nope) = %v, want ErrNotFound", err)
	}
	if err := c.Stop(ctx, a.ID); !errors.Is(err, provider.ErrState) {
		t.Errorf("Stop(loading) = %v, want ErrState", err)
	}
	hs.Close()

	// A restart keeps the fleet and the statistics.
	srv2, err := New(Config{StateDir: dir, Fleet: sim.Config{CreateDelay: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	hs2 := httptest.NewServer(srv2.Handler())
	defer hs2.Close()
	c2 := NewClient(hs2.URL)
	list, err := c2.List(ctx)
	if err != nil || len(list) != 2 || list[0].IntentKey != "k1" || list[0].State != provider.Loading || list[1].State != provider.Gone {
		t.Fatalf("List after restart = %+v, %v; want k1 loading and k2 gone", list, err)
	}
	st, err := c2.Stats(ctx)
	if err != nil || st.Creates != 2 || st.PeakLive[3] != 2 || st.PeakKeyLive != 1 || len(st.History) != 3 {
		t.Errorf("Stats after restart = %+v, %v; want 2 creates, peak 2, key peak 1, 3 events", st, err)
	}
	if again, _ := c2.Create(ctx, "k1", provider.GroupSpec{EndpointID: 3}); again.ID != a.ID {
		t.Errorf("Create(k1) after restart = %s, want %s", again.ID, a.ID)
	}
}
