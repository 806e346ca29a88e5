package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tokenwatch/tokenwatch/internal/doctor"
)

// cmdDoctor tests tokenwatch's own plumbing (Slack, the Pushgateway, the
// heartbeat's host, the state file or database, the textfile directory, each endpoint's DNS
// and TLS) without sending a message, and exits 3 when a part is broken.
func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	output := fs.String("output", "text", "result format on stdout: text or json")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "tokenwatch doctor: --output %q: want text or json\n", *output)
		return exitUsage
	}
	cfg, _, scrub, ok := common.setup("doctor", loadConfig, stderr)
	if !ok {
		return exitUsage
	}
	items := doctor.Run(ctx, doctor.Plan(cfg, doctor.Options{}), doctor.Timeout)
	// The probes name no secret; scrubbing is the second line, against a
	// server that echoes what it was sent in an error.
	for i := range items {
		items[i].Detail = scrub.Scrub(items[i].Detail)
	}
	if *output == "json" {
		writeDoctorJSON(stdout, items)
	} else {
		writeDoctorText(stdout, items)
	}
	if doctor.Failed(items) {
		return exitUndelivered
	}
	return exitOK
}

// writeDoctorText prints one aligned line per item: result, name, why.
func writeDoctorText(w io.Writer, items []doctor.Item) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", it.Result, it.Name, it.Detail)
	}
	tw.Flush()
}

func writeDoctorJSON(w io.Writer, items []doctor.Item) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Items []doctor.Item `json:"items"`
	}{items})
}
