package config

import (
	"gopkg.in/yaml.v3"
)

// The sections of the file, one function each, in file order.

func (p *parser) config(root *yaml.Node) *Config {
	cfg := &Config{
		File:        p.file,
		Concurrency: DefaultConcurrency,
		State:       State{Path: defaultStatePath(p.env)},
		Metrics:     Metrics{Listen: DefaultListen, Pushgateway: Pushgateway{Job: DefaultPushgatewayJob}},
	}
	defaults := checkDefaults{schedule: DefaultSchedule, timeout: DefaultTimeout, tlsWarnBefore: DefaultTLSWarnBefore}
	var checksNode, maintenanceNode *yaml.Node
	seen := p.fields(root, "configuration", map[string]func(*yaml.Node){
		"concurrency":  func(v *yaml.Node) { p.positive(v, "concurrency", &cfg.Concurrency) },
		"slack":        func(v *yaml.Node) { cfg.Slack, defaults.slack = p.slack(v) },
		"alertmanager": func(v *yaml.Node) { cfg.Alertmanager = p.alertmanager(v) },
		"state":        func(v *yaml.Node) { p.state(v, &cfg.State) },
		"metrics":      func(v *yaml.Node) { p.metrics(v, &cfg.Metrics) },
		"heartbeat":    func(v *yaml.Node) { p.heartbeat(v, &cfg.Heartbeat) },
		"defaults":     func(v *yaml.Node) { p.defaults(v, &defaults) },
		"checks":       func(v *yaml.Node) { checksNode = v },
		"maintenance":  func(v *yaml.Node) { maintenanceNode = v },
	})
	// Checks come last so that defaults written after them still apply.
	switch {
	case checksNode != nil:
		cfg.Checks = p.checks(checksNode, defaults)
	case root.Kind == yaml.MappingNode || seen != nil:
		p.errorf(root, "no checks: add a checks list with at least one check")
	}
	// Windows name checks, so they are read once the checks are known.
	if maintenanceNode != nil {
		cfg.Maintenance = p.maintenance(maintenanceNode, cfg.Checks)
	}
	return cfg
}
