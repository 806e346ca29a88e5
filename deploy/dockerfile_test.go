package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stage is one FROM ... section of the Dockerfile.
type stage struct {
	from, name string
	lines      []string // instructions, continuation lines joined
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var pending string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			s := stage{from: fields[1]}
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				s.name = fields[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %s", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	return stages
}

// No Docker engine runs here, so the test checks what it can: the final
// image copies a file that the build stage's command really produces (run
// here, into a temporary directory), the binary is static (it runs on a
// base without libc), the base carries CA certificates, and the user is not
// root.
func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.Contains(final.from, "distroless/static") {
		t.Errorf("final base %s: want distroless/static (CA certificates, no shell, no libc)", final.from)
	}

	copyFrom := regexp.MustCompile(`^COPY --from=(\S+) (\S+) (\S+)$`)
	var src, dst, user, entrypoint string
	for _, l := range final.lines {
		if m := copyFrom.FindStringSubmatch(l); m != nil {
			if m[1] != build.name {
				t.Errorf("COPY from stage %q, the build stage is %q", m[1], build.name)
			}
			src, dst = m[2], m[3]
		}
		if strings.HasPrefix(l, "USER ") {
			user = strings.TrimSpace(strings.TrimPrefix(l, "USER "))
		}
		if strings.HasPrefix(l, "ENTRYPOINT ") {
			entrypoint = l
		}
	}
	if src == "" {
		t.Fatal("the final stage copies nothing from the build stage")
	}
	uid := strings.Split(user, ":")[0]
	if user == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	if !strings.Contains(entrypoint, `"`+dst+`"`) {
		t.Errorf("ENTRYPOINT %q does not run the copied %s", entrypoint, dst)
	}

	// Run the build stage's go build as written, with its output directory
	// moved into a temporary one.
	var buildCmd string
	for _, l := range build.lines {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			buildCmd = strings.TrimPrefix(l, "RUN ")
		}
	}
	if buildCmd == "" {
		t.Fatal("no RUN go build in the build stage")
	}
	out := t.TempDir()
	outDir := filepath.Dir(src)
	cmd := strings.ReplaceAll(buildCmd, outDir+"/", out+"/")
	if log, err := runTool(t, "..", []string{"VERSION=test"}, "sh", "-c", cmd); err != nil {
		t.Fatalf("build stage command %q: %v\n%s", buildCmd, err, log)
	}
	built := filepath.Join(out, filepath.Base(src))
	bin, err := elf.Open(built)
	if err != nil {
		t.Fatalf("the build stage does not produce %s: %v", src, err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked: it would not run on distroless/static", src)
		}
	}
	if v, err := runTool(t, ".", nil, built, "version"); err != nil || !strings.Contains(v, "tokenwatch test") {
		t.Errorf("the built binary's version: %q %v", v, err)
	}
}
