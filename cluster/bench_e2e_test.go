package cluster_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
)

// BenchmarkAdminWrites measures console writes (endpoint creates) on a
// 3-node loopback cluster of real processes, spread over all nodes (two of
// three are forwarded to the leader), with 1 and with 64 concurrent
// clients. It reports writes/s and p50/p99 latency.
func BenchmarkAdminWrites(b *testing.B) {
	c := clustertest.Start(b, 3)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	var seq atomic.Int64
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < clients; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						n := c.Nodes[int(i)%len(c.Nodes)]
						t0 := time.Now()
						if !postEndpoint(client, n, c.Token, fmt.Sprintf("bench-%d", seq.Add(1))) {
							failed.Add(1)
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d writes failed", f, b.N)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func postEndpoint(client *http.Client, n *clustertest.Node, token, name string) bool {
	req, _ := http.NewRequest(http.MethodPost, "http://"+n.HTTP+"/api/v0/endptjobs/",
		bytes.NewReader([]byte(`{"endpoint_name":"`+name+`"}`)))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var buf [512]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
	return resp.StatusCode == http.StatusOK
}
