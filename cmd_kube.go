package main

import (
	"io"
	"time"

	"github.com/connbench/connbench/kube"
)

func cmdKube(args []string, stdout, stderr io.Writer) int {
	b, usage, err := kube.Main(args, time.Now())
	if err != nil {
		return stop(err, helpText("kube")+usage, stdout, stderr)
	}
	_, err = stdout.Write(b)
	return exitCode(stderr, err)
}
