package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// profileHook is added to package main of cmd/tokenwatch through go build
// -overlay, so no file of the tree changes. Its init runs after the package's
// variables are set and runs the whole command itself (dispatch is what main
// calls) between starting and writing the profiles, because main ends in
// os.Exit, which no deferred stop would survive.
const profileHook = `package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
)

func init() {
	dir := os.Getenv("LOADBENCH_PROFILE_DIR")
	if dir == "" {
		return
	}
	cpu, err := os.Create(dir + "/cpu.pprof")
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	code := dispatch(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	cpu.Close()
	heap, err := os.Create(dir + "/heap.pprof")
	if err != nil {
		panic(err)
	}
	runtime.GC()
	_ = pprof.Lookup("allocs").WriteTo(heap, 0)
	heap.Close()
	os.Exit(code)
}
`

// profileLargest builds tokenwatch with profileHook and runs it once at s,
// leaving cpu.pprof, heap.pprof and the binary in o.profile.
func profileLargest(ctx context.Context, o options, srv *serverProcess, s size, dir string) error {
	out, err := filepath.Abs(o.profile)
	if err != nil {
		return fmt.Errorf("profile directory: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("profile directory: %w", err)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	hook := filepath.Join(dir, "loadbench_profile.go")
	if err := os.WriteFile(hook, []byte(profileHook), 0o600); err != nil {
		return fmt.Errorf("write the profile hook: %w", err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "cmd/tokenwatch/loadbench_profile.go"): hook},
	})
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		return fmt.Errorf("write the overlay: %w", err)
	}
	bin := filepath.Join(out, "tokenwatch")
	if err := buildTokenwatch(ctx, bin, overlayFile); err != nil {
		return err
	}
	cfg, err := writeConfig(dir, s, srv.url)
	if err != nil {
		return err
	}
	ideal := idealWall(s, o)
	if _, _, err := runMeasured(ctx, ideal, srv, []string{bin, "run", "--config", cfg, "--output", "json"},
		[]string{"LOADBENCH_PROFILE_DIR=" + out}); err != nil {
		return fmt.Errorf("profiled tokenwatch: %w", err)
	}
	fmt.Printf("\nprofiles of tokenwatch at %d checks: %s/cpu.pprof, %s/heap.pprof\n", s.checks, out, out)
	fmt.Printf("  go tool pprof -top %s %s/cpu.pprof\n", bin, out)
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", bin, filepath.Join(out, "cpu.pprof"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
