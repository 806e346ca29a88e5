package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// objects are the manifests of one kustomization, decoded.
type objects struct {
	cronJobs    []batchv1.CronJob
	deployments []appsv1.Deployment
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	services    []corev1.Service
	pvcs        []corev1.PersistentVolumeClaim
	namespaces  []corev1.Namespace
	monitors    []monitoringv1.ServiceMonitor
	pdbs        []policyv1.PodDisruptionBudget
}

// decodeStrict decodes one manifest into its Kubernetes API type; an
// unknown or misspelt field is an error.
func decodeStrict(t *testing.T, where string, doc []byte, into *objects) {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	strict := func(v any) {
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			t.Errorf("%s: %s does not decode strictly: %v", where, head.Kind, err)
		}
	}
	switch head.APIVersion + "/" + head.Kind {
	case "batch/v1/CronJob":
		var o batchv1.CronJob
		strict(&o)
		into.cronJobs = append(into.cronJobs, o)
	case "apps/v1/Deployment":
		var o appsv1.Deployment
		strict(&o)
		into.deployments = append(into.deployments, o)
	case "v1/ConfigMap":
		var o corev1.ConfigMap
		strict(&o)
		into.configMaps = append(into.configMaps, o)
	case "v1/Secret":
		var o corev1.Secret
		strict(&o)
		into.secrets = append(into.secrets, o)
	case "v1/Service":
		var o corev1.Service
		strict(&o)
		into.services = append(into.services, o)
	case "v1/PersistentVolumeClaim":
		var o corev1.PersistentVolumeClaim
		strict(&o)
		into.pvcs = append(into.pvcs, o)
	case "v1/Namespace":
		var o corev1.Namespace
		strict(&o)
		into.namespaces = append(into.namespaces, o)
	case "monitoring.coreos.com/v1/ServiceMonitor":
		var o monitoringv1.ServiceMonitor
		strict(&o)
		into.monitors = append(into.monitors, o)
	case "policy/v1/PodDisruptionBudget":
		var o policyv1.PodDisruptionBudget
		strict(&o)
		into.pdbs = append(into.pdbs, o)
	case "kustomize.config.k8s.io/v1beta1/Kustomization":
	default:
		t.Errorf("%s: no API type known for %s %s", where, head.APIVersion, head.Kind)
	}
}

// build runs kustomize (the same code as kubectl apply -k) and decodes the result.
func build(t *testing.T, dir string) objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out objects
	for _, r := range res.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		decodeStrict(t, dir+": "+r.GetKind()+"/"+r.GetName(), doc, &out)
	}
	return out
}

func TestEveryManifestFileDecodesStrictly(t *testing.T) {
	var all objects
	err := filepath.WalkDir("kubernetes", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) > 0 {
				decodeStrict(t, path+"#"+string(rune('0'+i)), doc, &all)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One of each per variant: the state file, and PostgreSQL.
	if len(all.cronJobs) != 2 || len(all.deployments) != 2 || len(all.monitors) != 2 || len(all.pdbs) != 1 {
		t.Errorf("found %d CronJobs, %d Deployments, %d ServiceMonitors, %d PodDisruptionBudgets", len(all.cronJobs), len(all.deployments), len(all.monitors), len(all.pdbs))
	}
}

func TestCronJob(t *testing.T) {
	objs := build(t, "kubernetes")
	if len(objs.cronJobs) != 1 || len(objs.configMaps) != 1 || len(objs.secrets) != 1 || len(objs.pvcs) != 1 {
		t.Fatalf("kustomization renders %d CronJobs, %d ConfigMaps, %d Secrets, %d PVCs", len(objs.cronJobs), len(objs.configMaps), len(objs.secrets), len(objs.pvcs))
	}
	cj := objs.cronJobs[0]
	spec := cj.Spec
	if spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", spec.ConcurrencyPolicy)
	}
	if spec.StartingDeadlineSeconds == nil || *spec.StartingDeadlineSeconds < 10 {
		t.Errorf("startingDeadlineSeconds must be set and at least 10")
	}
	job := spec.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("backoffLimit must be 0: a retry re-runs the checks and can re-alert")
	}
	if job.ActiveDeadlineSeconds == nil || *job.ActiveDeadlineSeconds >= 300 {
		t.Errorf("activeDeadlineSeconds must be set, under the 5-minute schedule")
	}
	if job.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", job.Template.Spec.RestartPolicy)
	}
	if cj.Namespace != "tokenwatch" {
		t.Errorf("namespace %q", cj.Namespace)
	}
	checkPod(t, "CronJob", job.Template.Spec)
}

func TestServeDeployment(t *testing.T) {
	objs := build(t, "kubernetes/serve")
	if len(objs.deployments) != 1 || len(objs.services) != 1 || len(objs.monitors) != 1 {
		t.Fatalf("serve renders %d Deployments, %d Services, %d ServiceMonitors", len(objs.deployments), len(objs.services), len(objs.monitors))
	}
	d := objs.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("serve must be one replica with Recreate: one writer of the state")
	}
	pod := d.Spec.Template.Spec
	checkPod(t, "Deployment", pod)
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes must use /readyz and /healthz")
	}
	if d.Spec.Template.Annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("no scrape annotation")
	}
	svc, sm := objs.services[0], objs.monitors[0]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor's selector %s=%s does not match the Service", k, v)
		}
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service's selector %s=%s does not match the pods", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("the ServiceMonitor does not scrape the Service's metrics port")
	}
}

// checkPod holds a pod to the restricted Pod Security Standard and the
// rules for secrets: read-only files, never env, never subPath.
func checkPod(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod must run as non-root with seccomp RuntimeDefault", what)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: tokenwatch needs no Kubernetes API token", what)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", what, len(pod.Containers))
	}
	c := pod.Containers[0]
	csc := c.SecurityContext
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.Capabilities == nil || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: container must drop ALL capabilities, forbid privilege escalation and have a read-only root", what)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Cpu().IsZero() {
		t.Errorf("%s: resource requests and limits must be set", what)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("%s: secret %s in env: mount it as a file", what, e.Name)
		}
	}
	secretVolumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("%s: volume %s mounted with subPath: it would never see updates", what, m.Name)
		}
		if secretVolumes[m.Name] {
			mounted = true
			if !m.ReadOnly {
				t.Errorf("%s: secret volume %s must be read-only", what, m.Name)
			}
		}
	}
	if !mounted {
		t.Errorf("%s: no secret volume mounted", what)
	}
}

// The configuration in the ConfigMap of every variant passes `tokenwatch
// validate` with the example Secret's files in place, with no warning at
// all.
func TestConfigMapPassesValidate(t *testing.T) {
	for _, variant := range []string{"kubernetes", "kubernetes/postgres", "kubernetes/postgres/serve"} {
		t.Run(variant, func(t *testing.T) { configMapPassesValidate(t, build(t, variant)) })
	}
}

func configMapPassesValidate(t *testing.T, objs objects) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range objs.secrets[0].StringData {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(objs.configMaps[0].Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	validate(t, config, "TOKENWATCH_SECRETS="+secrets)
}

func validate(t *testing.T, config string, env ...string) {
	t.Helper()
	out, err := runTool(t, ".", env, binary, "validate", "--config", config)
	if err != nil {
		t.Fatalf("tokenwatch validate %s: %v\n%s", config, err, out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "valid, 2 checks (0 warnings)") {
		t.Errorf("validate printed more than the all-clear:\n%s", out)
	}
}

// The CronJob against PostgreSQL is the file CronJob without a volume:
// nothing claims one, and the configuration names the DSN's file in the
// mounted Secret.
func TestPostgresCronJob(t *testing.T) {
	objs := build(t, "kubernetes/postgres")
	if len(objs.cronJobs) != 1 || len(objs.configMaps) != 1 || len(objs.secrets) != 1 || len(objs.pvcs) != 0 || len(objs.deployments) != 0 {
		t.Fatalf("renders %d CronJobs, %d ConfigMaps, %d Secrets, %d PVCs, %d Deployments", len(objs.cronJobs), len(objs.configMaps), len(objs.secrets), len(objs.pvcs), len(objs.deployments))
	}
	cj := objs.cronJobs[0]
	job := cj.Spec.JobTemplate.Spec
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || job.BackoffLimit == nil || *job.BackoffLimit != 0 || cj.Namespace != "tokenwatch" {
		t.Errorf("the CronJob's policy differs from the file variant's: %+v", cj.Spec)
	}
	pod := job.Template.Spec
	checkPod(t, "CronJob", pod)
	checkPostgresState(t, objs, pod)
}

// Two serve replicas against PostgreSQL: a rolling update that never
// leaves fewer than two ready, a PodDisruptionBudget that keeps one
// through a drain, the ServiceMonitor, and no volume.
func TestPostgresServeReplicas(t *testing.T) {
	objs := build(t, "kubernetes/postgres/serve")
	if len(objs.deployments) != 1 || len(objs.pdbs) != 1 || len(objs.services) != 1 || len(objs.monitors) != 1 || len(objs.pvcs) != 0 || len(objs.cronJobs) != 0 {
		t.Fatalf("renders %d Deployments, %d PodDisruptionBudgets, %d Services, %d ServiceMonitors, %d PVCs, %d CronJobs",
			len(objs.deployments), len(objs.pdbs), len(objs.services), len(objs.monitors), len(objs.pvcs), len(objs.cronJobs))
	}
	d := objs.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	s := d.Spec.Strategy
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 ||
		s.RollingUpdate.MaxSurge == nil || s.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy %+v, want RollingUpdate with maxSurge 1 and maxUnavailable 0", s)
	}
	pod := d.Spec.Template.Spec
	checkPod(t, "Deployment", pod)
	checkPostgresState(t, objs, pod)
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes must use /readyz and /healthz")
	}
	pdb := objs.pdbs[0]
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget %+v, want minAvailable 1", pdb.Spec)
	}
	podLabels := d.Spec.Template.Labels
	selects := func(what string, sel map[string]string) {
		if len(sel) == 0 {
			t.Errorf("%s selects nothing", what)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s's selector %s=%s does not match the pods", what, k, v)
			}
		}
	}
	selects("the PodDisruptionBudget", pdb.Spec.Selector.MatchLabels)
	selects("the Service", objs.services[0].Spec.Selector)
	for _, tsc := range pod.TopologySpreadConstraints {
		selects("the topology spread", tsc.LabelSelector.MatchLabels)
	}
	svc, sm := objs.services[0], objs.monitors[0]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor's selector %s=%s does not match the Service", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("the ServiceMonitor does not scrape the Service's metrics port")
	}
}

// checkPostgresState holds a PostgreSQL variant to its promise: the pod
// mounts no volume but the configuration and the Secret, the
// configuration keeps the state in PostgreSQL with the DSN from a file of
// the mounted Secret, and the example Secret has that file.
func checkPostgresState(t *testing.T, objs objects, pod corev1.PodSpec) {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Secret == nil && v.ConfigMap == nil {
			t.Errorf("volume %s: the PostgreSQL variants keep nothing on a volume", v.Name)
		}
	}
	cfg := objs.configMaps[0].Data["config.yaml"]
	if !strings.Contains(cfg, "postgres:\n    dsn_file: ${TOKENWATCH_SECRETS}/postgres-dsn") || strings.Contains(cfg, "path:") {
		t.Errorf("the configuration does not keep the state in PostgreSQL through dsn_file:\n%s", cfg)
	}
	if dsn := objs.secrets[0].StringData["postgres-dsn"]; !strings.HasPrefix(dsn, "postgres://") || !strings.Contains(dsn, "sslmode=") {
		t.Errorf("the example Secret's postgres-dsn %q: want a URL that says its sslmode", dsn)
	}
	if _, ok := objs.secrets[0].StringData["courier-token"]; !ok {
		t.Error("the PostgreSQL variants' Secret lost the base's files")
	}
}
