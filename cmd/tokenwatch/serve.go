package main

import (
	"context"
	"io"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int { return exitUsage }
