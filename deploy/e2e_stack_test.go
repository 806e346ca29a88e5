package deploy

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test's monitoring stack: Debian's Prometheus, Alertmanager,
// Pushgateway and node_exporter, started on free loopback ports in temp
// dirs, with the shipped rules scaled in time (timeScale) and nothing else.

// timeScale divides every time threshold of the shipped rules: their
// 5-minute runs become 3-second ones.
const timeScale = 100

// e2eBinaries are the Debian binaries the test starts.
var e2eBinaries = map[string]string{
	"prometheus":    "prometheus",
	"alertmanager":  "prometheus-alertmanager",
	"pushgateway":   "prometheus-pushgateway",
	"node_exporter": "prometheus-node-exporter",
}

// requireBinaries finds the binaries: missing ones fail the test in CI
// (make check installs them) and skip it elsewhere.
func requireBinaries(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	var missing []string
	for name, bin := range e2eBinaries {
		path, err := exec.LookPath(bin)
		if err != nil {
			missing = append(missing, bin)
			continue
		}
		found[name] = path
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s not installed: run `bash scripts/install-deps.sh` (make check does)", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return found
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a started binary; its output goes to a log file shown when
// the test fails.
type process struct {
	cmd *exec.Cmd
	log string
}

func start(t *testing.T, dir, name string, args ...string) *process {
	t.Helper()
	log := filepath.Join(dir, filepath.Base(name)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{cmd: cmd, log: log}
	t.Cleanup(func() {
		p.stop()
		f.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log)
			t.Logf("%s log (last 2000 bytes):\n%s", filepath.Base(name), tail(out, 2000))
		}
	})
	return p
}

// stop ends the process (SIGTERM, then SIGKILL) and waits for it.
func (p *process) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// eventually calls cond every interval until it holds or within has
// passed, and reports whether it held: every wait of these tests has a
// deadline, and its caller says what did not happen.
func eventually(within, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	var err error
	if !eventually(20*time.Second, 100*time.Millisecond, func() bool {
		var resp *http.Response
		if resp, err = http.Get(url); err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("%s did not become ready: %v", url, err)
	}
}

var (
	ruleFor        = regexp.MustCompile(`(?m)^(\s+for: )(\d+)([smhd])$`)
	ruleRange      = regexp.MustCompile(`\[(\d+)([smhd])\]`)
	ruleSecondsCmp = regexp.MustCompile(`(>|<=) (\d+)\b`)
)

var unitSeconds = map[string]float64{"s": 1, "m": 60, "h": 3600, "d": 86400}

func scaled(n, unit string) string {
	v, _ := strconv.ParseFloat(n, 64)
	return strconv.Itoa(int(v*unitSeconds[unit]*1000/timeScale)) + "ms"
}

// scaleRules rewrites the shipped rules' time thresholds and nothing else:
// `for:`, range selectors and second thresholds (`> 600`) are divided by
// timeScale.
func scaleRules(src string) string {
	s := ruleFor.ReplaceAllStringFunc(src, func(m string) string {
		p := ruleFor.FindStringSubmatch(m)
		return p[1] + scaled(p[2], p[3])
	})
	s = ruleRange.ReplaceAllStringFunc(s, func(m string) string {
		p := ruleRange.FindStringSubmatch(m)
		return "[" + scaled(p[1], p[2]) + "]"
	})
	return ruleSecondsCmp.ReplaceAllStringFunc(s, func(m string) string {
		p := ruleSecondsCmp.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[2])
		if n < 60 {
			return m // a count, not a time
		}
		return p[1] + " " + strconv.FormatFloat(float64(n)/timeScale, 'f', -1, 64)
	})
}

// stack is one Prometheus with its Alertmanager, two Pushgateways and one
// node_exporter per textfile installation, all configured before start.
type stack struct {
	dir          string
	prom, am     string // base URLs
	gateway      string // shared Pushgateway
	rejectingGW  string // the Pushgateway of the rejection case
	hook         *webhook
	servePorts   []string
	nodeExporter map[string]*nodeExporter // by name
}

type nodeExporter struct {
	addr, dir string
	bin       string
	proc      *process
}

// startNode starts (or restarts on the same address) the node_exporter.
func (n *nodeExporter) start(t *testing.T) {
	n.proc = start(t, n.dir, n.bin, "--web.listen-address="+n.addr,
		"--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory="+n.dir)
	waitHTTP(t, "http://"+n.addr+"/metrics")
}

// newStack starts everything; serve targets and textfile installations are
// named up front, since Prometheus scrapes fixed targets.
func newStack(t *testing.T, serveTargets []string, textfiles []string) *stack {
	bins := requireBinaries(t)
	s := &stack{dir: t.TempDir(), hook: newWebhook(t), servePorts: serveTargets, nodeExporter: map[string]*nodeExporter{}}
	var wg sync.WaitGroup
	gwAddr, gw2Addr, amAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	s.gateway, s.rejectingGW, s.am, s.prom = "http://"+gwAddr, "http://"+gw2Addr, "http://"+amAddr, "http://"+promAddr

	for _, addr := range []string{gwAddr, gw2Addr} {
		start(t, s.dir, bins["pushgateway"], "--web.listen-address="+addr, "--persistence.file=")
	}
	var nodeTargets []string
	for _, name := range textfiles {
		dir := filepath.Join(s.dir, "textfile-"+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		n := &nodeExporter{addr: freeAddr(t), dir: dir, bin: bins["node_exporter"]}
		s.nodeExporter[name] = n
		nodeTargets = append(nodeTargets, n.addr)
		wg.Go(func() { n.start(t) })
	}

	amConfig := fmt.Sprintf(`route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, s.hook.URL)
	writeFile(t, filepath.Join(s.dir, "alertmanager.yml"), amConfig)
	start(t, s.dir, bins["alertmanager"], "--config.file=alertmanager.yml", "--storage.path=am-data",
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	rules, err := os.ReadFile("prometheus/tokenwatch-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "tokenwatch-rules.yml"), scaleRules(string(rules)))
	promConfig := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [tokenwatch-rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: [%q]}]
scrape_configs:
  - job_name: tokenwatch
    static_configs: [{targets: %s}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: [%q, %q]}]
  - job_name: node
    static_configs: [{targets: %s}]
`, amAddr, jsonList(serveTargets), gwAddr, gw2Addr, jsonList(nodeTargets))
	writeFile(t, filepath.Join(s.dir, "prometheus.yml"), promConfig)
	start(t, s.dir, bins["prometheus"], "--config.file=prometheus.yml", "--storage.tsdb.path=prom-data",
		"--web.listen-address="+promAddr, "--rules.alert.resend-delay=1s")

	wg.Wait()
	for _, u := range []string{s.gateway, s.rejectingGW, s.am, s.prom} {
		waitHTTP(t, u+"/-/ready")
	}
	return s
}

func jsonList(list []string) string {
	b, _ := json.Marshal(list)
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// promAlert is one entry of Prometheus' /api/v1/alerts.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (s *stack) alerts(t *testing.T) []promAlert {
	t.Helper()
	var body struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	s.get(t, "/api/v1/alerts", &body)
	return body.Data.Alerts
}

// query runs an instant PromQL query and returns how many series it gave.
func (s *stack) query(t *testing.T, expr string) (int, error) {
	t.Helper()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	s.get(t, "/api/v1/query?query="+url.QueryEscape(expr), &body)
	if body.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	return len(body.Data.Result), nil
}

func (s *stack) get(t *testing.T, path string, into any) {
	t.Helper()
	resp, err := http.Get(s.prom + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// installation is what identifies one tokenwatch in Prometheus: job and
// instance ("" for a Pushgateway group without one).
type installation struct{ job, instance string }

func (in installation) owns(labels map[string]string) bool {
	return labels["job"] == in.job && labels["instance"] == in.instance
}

func (in installation) String() string {
	if in.instance == "" {
		return in.job
	}
	return in.job + " " + in.instance
}

// watch follows one installation's alerts: every alert name seen firing is
// remembered, so a case can say that no other rule fired for its cause.
type watch struct {
	s      *stack
	in     installation
	firing map[string]bool
}

func (s *stack) watch(in installation) *watch {
	return &watch{s: s, in: in, firing: map[string]bool{}}
}

const e2eDeadline = 60 * time.Second

// until polls the installation's alerts until cond holds for them.
func (w *watch) until(t *testing.T, what string, cond func(firing map[string]promAlert) bool) map[string]promAlert {
	t.Helper()
	var now map[string]promAlert
	if !eventually(e2eDeadline, 250*time.Millisecond, func() bool {
		now = map[string]promAlert{}
		for _, a := range w.s.alerts(t) {
			if w.in.owns(a.Labels) && a.State == "firing" {
				now[a.Labels["alertname"]] = a
				w.firing[a.Labels["alertname"]] = true
			}
		}
		return cond(now)
	}) {
		t.Fatalf("%s: %s: not within %s; firing now: %v", w.in, what, e2eDeadline, keys(now))
	}
	return now
}

// fires waits for the alert to fire and returns it.
func (w *watch) fires(t *testing.T, name string) promAlert {
	t.Helper()
	got := w.until(t, name+" fires", func(f map[string]promAlert) bool { _, ok := f[name]; return ok })
	return got[name]
}

// resolves waits until the alert no longer fires.
func (w *watch) resolves(t *testing.T, name string) {
	t.Helper()
	w.until(t, name+" resolves", func(f map[string]promAlert) bool { _, ok := f[name]; return !ok })
}

// onlyFired says that no rule but the allowed ones fired meanwhile.
func (w *watch) onlyFired(t *testing.T, allowed ...string) {
	t.Helper()
	for name := range w.firing {
		if !contains(allowed, name) {
			t.Errorf("%s: %s fired as well, for a cause that is not its own (allowed: %v)", w.in, name, allowed)
		}
	}
}

func contains(list []string, s string) bool {
	for _, each := range list {
		if each == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// webhook is the Alertmanager's receiver: it keeps every alert it got.
type webhook struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []amAlert
}

type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []amAlert `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			w.WriteHeader(400)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, msg.Alerts...)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// received waits until the Alertmanager routed the firing alert of the
// installation to the receiver, and checks what on-call reads in it.
func (s *stack) received(t *testing.T, in installation, name string) {
	t.Helper()
	var got amAlert
	if !eventually(e2eDeadline, 250*time.Millisecond, func() bool {
		s.hook.mu.Lock()
		defer s.hook.mu.Unlock()
		found := false
		for _, a := range s.hook.alerts {
			if a.Status == "firing" && a.Labels["alertname"] == name && in.owns(a.Labels) {
				got, found = a, true
			}
		}
		return found
	}) {
		t.Fatalf("the Alertmanager did not route %s of %s to the receiver", name, in)
	}
	want := "/docs/runbooks.md#" + strings.ToLower(name)
	if !strings.HasSuffix(got.Annotations["runbook_url"], want) {
		t.Errorf("%s: runbook_url %q, want one ending in %s", name, got.Annotations["runbook_url"], want)
	}
	named := in.instance
	if named == "" {
		named = in.job
	}
	if !strings.Contains(got.Annotations["summary"], named) {
		t.Errorf("%s: summary %q does not name the installation %s", name, got.Annotations["summary"], in)
	}
}

// switchable is a fake peer whose answer the test changes.
type switchable struct {
	*httptest.Server
	mode atomic.Value // string
}

func (sw *switchable) set(mode string) { sw.mode.Store(mode) }
func (sw *switchable) get() string     { return sw.mode.Load().(string) }

const courierToken = "y0_e2e-courier-token"

// fakeCourier answers GET /api/v1/test as the courier API does in each mode.
func fakeCourier(t *testing.T, mode string) *switchable {
	sw := &switchable{}
	sw.set(mode)
	sw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/test" || r.Header.Get("Authorization") != "OAuth "+courierToken {
			w.WriteHeader(401)
			return
		}
		switch sw.get() {
		case "ok":
			io.WriteString(w, `{"message":"OK"}`)
		case "slow":
			select {
			case <-time.After(2500 * time.Millisecond):
			case <-r.Context().Done():
			}
			io.WriteString(w, `{"message":"OK"}`)
		case "invalid":
			w.WriteHeader(401)
		case "forbidden":
			w.WriteHeader(403)
		case "unavailable":
			w.WriteHeader(500)
		case "bad_response":
			io.WriteString(w, `{"message":"nope"}`)
		}
	}))
	t.Cleanup(sw.Close)
	return sw
}

// fakePartner issues tokens; in mode "expires" with expires_in.
func fakePartner(t *testing.T, mode string) *switchable {
	sw := &switchable{}
	sw.set(mode)
	sw.Server = httptest.NewServer(partnerHandler(sw))
	t.Cleanup(sw.Close)
	return sw
}

// partnerHandler issues a token, with expires_in in mode "expires".
func partnerHandler(sw *switchable) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if sw.get() == "expires" {
			io.WriteString(w, `{"access_token":"issued-e2e","token_type":"bearer","expires_in":300}`)
			return
		}
		io.WriteString(w, `{"access_token":"issued-e2e","token_type":"bearer"}`)
	})
}

// fakeTLSPartner is fakePartner over https, with its certificate (httptest's
// own) written to a file for the check's ca_file: the TLS series exist.
func fakeTLSPartner(t *testing.T) (*switchable, string) {
	sw := &switchable{}
	sw.set("expires")
	sw.Server = httptest.NewTLSServer(partnerHandler(sw))
	t.Cleanup(sw.Close)
	ca := filepath.Join(t.TempDir(), "partner-ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sw.Certificate().Raw})))
	return sw, ca
}

// fakeStatus answers 200 in mode "ok", else 404 no_service: a fake Slack
// webhook or heartbeat that was deleted. A permanent failure, so a run does
// not spend the scaled-down interval on retries.
func fakeStatus(t *testing.T, mode string) *switchable {
	sw := &switchable{}
	sw.set(mode)
	sw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if sw.get() != "ok" {
			w.WriteHeader(404)
			io.WriteString(w, "no_service")
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(sw.Close)
	return sw
}

// failingProxy forwards to the Pushgateway, or answers 503 in mode "down".
func failingProxy(t *testing.T, target string) *switchable {
	sw := &switchable{}
	sw.set("up")
	sw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw.get() == "down" {
			w.WriteHeader(503)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(sw.Close)
	return sw
}

// tokenwatchConfig is the configuration of one installation.
type tokenwatchConfig struct {
	courier, partner *switchable
	partnerCA        string // the partner's certificate, when it speaks https
	slack, heartbeat *switchable
	textfile         string
	pushURL, pushJob string
	schedule         string
}

func (c tokenwatchConfig) render(statePath string) string {
	var b bytes.Buffer
	schedule := c.schedule
	if schedule == "" {
		schedule = "@every 2s"
	}
	fmt.Fprintf(&b, "state: {path: %q}\n", statePath)
	if c.slack != nil {
		fmt.Fprintf(&b, "slack: {webhook_url: %q}\n", c.slack.URL)
	}
	if c.heartbeat != nil {
		fmt.Fprintf(&b, "heartbeat: {url: %q}\n", c.heartbeat.URL)
	}
	fmt.Fprintf(&b, "metrics:\n  textfile: %q\n", c.textfile)
	if c.pushURL != "" {
		fmt.Fprintf(&b, "  pushgateway: {url: %q, job: %q}\n", c.pushURL, c.pushJob)
	}
	fmt.Fprintf(&b, "defaults: {schedule: %q, timeout: 5s}\nchecks:\n", schedule)
	if c.courier != nil {
		// rotate_after: the credential-age series exist (a fresh secret: no alert).
		fmt.Fprintf(&b, "  - {name: courier-main, type: courier, base_url: %q, token: %q, rotate_after: 2160h}\n", c.courier.URL, courierToken)
	}
	if c.partner != nil {
		trust := ""
		if c.partnerCA != "" {
			trust = fmt.Sprintf(", ca_file: %q", c.partnerCA)
		}
		fmt.Fprintf(&b, "  - {name: partner-acme, type: partner_oauth, host: %q, client_id: e2e, client_secret: e2e-secret%s}\n", c.partner.URL, trust)
	}
	return b.String()
}

// runner is `tokenwatch run` as a CronJob or a timer would start it: one
// run after the other while it is not paused.
type runner struct {
	config string
	mu     sync.Mutex
	paused bool
	runs   atomic.Int64
	stop   chan struct{}
	done   chan struct{}
}

func newRunner(t *testing.T, cfg tokenwatchConfig) *runner {
	dir := t.TempDir()
	r := &runner{config: filepath.Join(dir, "config.yaml"), stop: make(chan struct{}), done: make(chan struct{})}
	writeFile(t, r.config, cfg.render(filepath.Join(dir, "state.json")))
	go r.loop()
	t.Cleanup(func() { close(r.stop); <-r.done })
	return r
}

func (r *runner) loop() {
	defer close(r.done)
	tick := time.NewTicker(time.Second) // the timer: one run a second, 5 minutes scaled
	defer tick.Stop()
	for {
		r.mu.Lock() // held through the run, so pause waits for it
		if !r.paused {
			_ = exec.Command(binary, "run", "--config", r.config).Run() // exit 3 is a case's cause
			r.runs.Add(1)
		}
		r.mu.Unlock()
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
	}
}

// pause stops (or resumes) the runs; it returns once no run is going.
func (r *runner) pause(paused bool) { r.mu.Lock(); r.paused = paused; r.mu.Unlock() }

// runOnce runs tokenwatch once and returns its exit status.
func runOnce(t *testing.T, config string) int {
	t.Helper()
	out, err := exec.Command(binary, "run", "--config", config).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("tokenwatch run: %v\n%s", err, out)
	}
	return 0
}

// server is `tokenwatch serve` on a fixed address, restartable.
type server struct {
	addr, config, dir string
	proc              *process
}

func newServer(t *testing.T, addr string, cfg tokenwatchConfig) *server {
	dir := t.TempDir()
	s := &server{addr: addr, dir: dir, config: filepath.Join(dir, "config.yaml")}
	writeFile(t, s.config, cfg.render(filepath.Join(dir, "state.json")))
	s.start(t)
	return s
}

func (s *server) start(t *testing.T) {
	t.Helper()
	s.proc = start(t, s.dir, binary, "serve", "--config", s.config, "--listen", s.addr)
	waitHTTP(t, "http://"+s.addr+"/readyz")
}

func (s *server) reload(t *testing.T) {
	t.Helper()
	if err := s.proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}
