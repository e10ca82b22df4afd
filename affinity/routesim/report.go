package routesim

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON prints {"routers":[…]}.
func WriteJSON(w io.Writer, res []Result) error {
	return json.NewEncoder(w).Encode(struct {
		Routers []Result `json:"routers"`
	}{res})
}

// WriteTable prints one line per router.
func WriteTable(w io.Writer, res []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "router\thit_rate\tttft_p50_s\tttft_p90_s\tttft_p99_s\tmax_worker_load\tmakespan_s\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.0f\t\n", r.Name, r.HitRate, r.TTFTP50, r.TTFTP90,
			r.TTFTP99, r.MaxLoad, r.Makespan)
	}
	return tw.Flush()
}
