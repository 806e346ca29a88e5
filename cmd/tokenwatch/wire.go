package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/notify"
)

// newJob wires a job from a loaded configuration. On failure it prints why
// and returns the exit code.
func newJob(cfg *config.Config, common *commonFlags, stderr io.Writer) (*job.Job, int) {
	scrub := &secret.Scrubber{}
	scrub.Add(job.Secrets(cfg)...)
	logger, err := common.logger(stderr, scrub)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch: %v\n", err)
		return nil, exitUsage
	}
	list, err := job.BuildChecks(cfg.Checks)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch: %s\n", scrub.Scrub(err.Error()))
		return nil, exitUsage
	}
	j := &job.Job{Config: cfg, Checks: list, Logger: logger}
	if cfg.Slack != nil {
		j.Notifier = notify.NewSlack(notify.SlackOptions{
			WebhookURL: cfg.Slack.WebhookURL, BotToken: cfg.Slack.BotToken,
			Channel: cfg.Slack.Channel, APIURL: cfg.Slack.APIURL, Logger: logger,
		})
	}
	return j, exitOK
}

func unknownChecks(list []config.Check, names []string) []string {
	var unknown []string
	for _, n := range names {
		if !slices.ContainsFunc(list, func(c config.Check) bool { return c.Name == n }) {
			unknown = append(unknown, n)
		}
	}
	return unknown
}
