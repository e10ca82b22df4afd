package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

func TestFleetLifecycle(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1000, 0)
	clock := NewManualClock(t0)
	f := New(Config{}, clock)
	a, err := f.Create(ctx, "k1", provider.GroupSpec{GroupID: 7})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := f.Create(ctx, "k1", provider.GroupSpec{GroupID: 7})
	if again.ID != a.ID {
		t.Errorf("Create(k1) twice = %s, %s, want the same instance", a.ID, again.ID)
	}
	steps := []struct {
		name string
		at   time.Duration
		do   func() error
		want provider.State
	}{
		{"loading", 179 * time.Second, nil, provider.Loading},
		{"ready after create", 180 * time.Second, nil, provider.Ready},
		{"stop", 200 * time.Second, func() error { return f.Stop(ctx, a.ID) }, provider.Stopped},
		{"start", 300 * time.Second, func() error { return f.Start(ctx, a.ID) }, provider.Starting},
		{"ready after start", 315 * time.Second, nil, provider.Ready},
		{"destroy", 320 * time.Second, func() error { return f.Destroy(ctx, a.ID) }, provider.Gone},
	}
	for _, st := range steps {
		clock.Set(t0.Add(st.at))
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		list, _ := f.List(ctx)
		if len(list) != 1 || list[0].State != st.want || list[0].IntentKey != "k1" {
			t.Errorf("%s: List = %+v, want one k1 instance %s", st.name, list, st.want)
		}
	}
	// Billed: 180 loading + 20 ready + 100 stopped × 0.05 + 15 starting + 5 ready.
	if got, want := f.Billed(), 180+20+5+15+5.0; got != want {
		t.Errorf("Billed() = %v, want %v", got, want)
	}
	if err := f.Start(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Start(nope) = %v, want ErrNotFound", err)
	}
}

func TestFleetHangAndFail(t *testing.T) {
	ctx := context.Background()
	clock := NewManualClock(time.Unix(0, 0))
	f := New(Config{CreateHang: 1}, clock)
	in, _ := f.Create(ctx, "h", provider.GroupSpec{})
	clock.Advance(time.Hour)
	list, _ := f.List(ctx)
	if list[0].State != provider.Loading {
		t.Errorf("hung create after an hour = %s, want loading", list[0].State)
	}
	_ = f.Destroy(ctx, in.ID)
	g := New(Config{CreateFail: 1}, clock)
	g.Create(ctx, "f", provider.GroupSpec{})
	clock.Advance(181 * time.Second)
	list, _ = g.List(ctx)
	if list[0].State != provider.Failed {
		t.Errorf("failing create = %s, want failed", list[0].State)
	}
}
