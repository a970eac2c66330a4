// Package taskexec runs a command in one instance of a service, the way
// `docker exec` and `kubectl exec` do, through Nomad's exec API: in the
// service's own task unless told another, with stdin, stdout and stderr
// wired and, on request, a terminal.
package taskexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/status"
)

// Options say what to run where.
type Options struct {
	Namespace, Service string
	Stack              string // the stack the command acts for: only its jobs are entered
	Task               string // "": the service's own task (status.AppTask)
	Instance           string // an allocation ID prefix; "": the newest running instance
	Command            []string
	TTY                bool
	Stdin              io.Reader // nil: the command reads an empty stdin
	Stdout, Stderr     io.Writer
	Resize             <-chan nomad.TerminalSize
	// Chose is told which instance was picked when several run and none
	// was asked for.
	Chose func(alloc *nomad.AllocationListStub, running int)
}

// NoInstanceError says the service has no instance to run the command in.
type NoInstanceError struct{ msg string }

func (e *NoInstanceError) Error() string { return e.msg }

// Run runs the command and returns its exit code; an error means it could
// not be run, or the session broke off before it ended.
func Run(ctx context.Context, cl *cluster.Cluster, opts Options) (int, error) {
	if opts.Stack == "" {
		return 0, errors.New("exec needs the stack it acts for")
	}
	job, err := status.Managed(ctx, cl, opts.Namespace, opts.Service, "nomad alloc exec")
	if err != nil {
		return 0, err
	}
	owner := compile.Owner{Namespace: opts.Namespace, Stack: opts.Stack, Service: opts.Service}
	if err := deploy.ClaimDeployed(job, owner, "exec", "run commands in it"); err != nil {
		return 0, err
	}
	if opts.Task == "" {
		opts.Task = status.AppTask(opts.Service)
	}
	allocs, err := cl.Nomad.Allocations(ctx, opts.Namespace, opts.Service)
	if err != nil {
		return 0, err
	}
	alloc, err := pick(opts, allocs)
	if err != nil {
		return 0, err
	}
	if err := status.CheckTask(alloc, opts.Task); err != nil {
		return 0, err
	}
	stdin := opts.Stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return cl.Nomad.Exec(ctx, alloc, cluster.ExecRequest{
		Task: opts.Task, Command: opts.Command, TTY: opts.TTY,
		Stdin: stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Resize: opts.Resize,
	})
}

// pick chooses the instance: the one asked for, else the newest running.
func pick(opts Options, allocs []*nomad.AllocationListStub) (*nomad.AllocationListStub, error) {
	if opts.Instance != "" {
		a, err := status.Instance(opts.Service, allocs, opts.Instance)
		if err != nil {
			return nil, err
		}
		if !status.Running(a) {
			return nil, &NoInstanceError{fmt.Sprintf("instance %s of %s is not running (%s)", cluster.ShortID(a.ID), opts.Service, a.ClientStatus)}
		}
		return a, nil
	}
	var running []*nomad.AllocationListStub
	for _, a := range allocs {
		if status.Running(a) && a.DesiredStatus == nomad.AllocDesiredStatusRun {
			running = append(running, a)
		}
	}
	if len(running) == 0 {
		return nil, &NoInstanceError{fmt.Sprintf("service %s has no running instance to run the command in (instances: %s)", opts.Service, status.Describe(allocs))}
	}
	sort.Slice(running, func(i, j int) bool { return running[i].CreateIndex > running[j].CreateIndex })
	if len(running) > 1 && opts.Chose != nil {
		opts.Chose(running[0], len(running))
	}
	return running[0], nil
}
