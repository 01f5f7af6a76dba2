package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// Notebook statuses as SageMaker spells them.
const (
	statusInService = "InService"
	statusStopped   = "Stopped"
	statusFailed    = "Failed"
	statusPending   = "Pending"
	statusStopping  = "Stopping"
	statusUpdating  = "Updating"
	statusDeleting  = "Deleting"
)

// runner carries what every step needs to act: the clients of the action's
// account and region, polling settings and the crash hook tests use.
type runner struct {
	c             Clients
	runID         string
	poll          time.Duration
	notebookWait  time.Duration
	markerWait    time.Duration
	afterCallHook func()
}

// afterCall marks the moment just after a step's first mutating AWS call
// returned, before anything else is recorded: the crash tests stop the
// process here.
func (r *runner) afterCall() {
	if r.afterCallHook != nil {
		r.afterCallHook()
	}
}

// sleep waits one poll interval or until ctx ends.
func (r *runner) sleep(ctx context.Context) error {
	t := time.NewTimer(r.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errNotebookGone is waitNotebook's error when the notebook no longer
// exists.
var errNotebookGone = errors.New("disappeared")

// waitNotebook polls until the notebook's status is one of want. Failed is
// an error unless wanted; so is the notebook disappearing.
func (r *runner) waitNotebook(ctx context.Context, name string, want ...string) (*NotebookState, error) {
	deadline := time.Now().Add(r.notebookWait)
	for {
		s, err := observeNotebook(ctx, r.c.SageMaker, name)
		if err != nil {
			return nil, err
		}
		if s.Absent {
			return nil, fmt.Errorf("notebook instance %s: %w while waiting for %v", name, errNotebookGone, want)
		}
		if slices.Contains(want, s.Notebook.Status) {
			return s.Notebook, nil
		}
		if s.Notebook.Status == statusFailed {
			return nil, fmt.Errorf("notebook instance %s: status Failed while waiting for %v: %s", name, want, r.failureReason(ctx, name))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("notebook instance %s: still %s after %v waiting for %v", name, s.Notebook.Status, r.notebookWait, want)
		}
		if err := r.sleep(ctx); err != nil {
			return nil, fmt.Errorf("notebook instance %s: waiting for %v: %w", name, want, err)
		}
	}
}

func (r *runner) failureReason(ctx context.Context, name string) string {
	out, err := r.c.SageMaker.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
	if err != nil || aws.ToString(out.FailureReason) == "" {
		return "no failure reason given"
	}
	return aws.ToString(out.FailureReason)
}

// waitNotebookGone polls until the notebook no longer exists.
func (r *runner) waitNotebookGone(ctx context.Context, name string) error {
	deadline := time.Now().Add(r.notebookWait)
	for {
		s, err := observeNotebook(ctx, r.c.SageMaker, name)
		if err != nil {
			return err
		}
		if s.Absent {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("notebook instance %s: still %s after %v waiting for it to be deleted", name, s.Notebook.Status, r.notebookWait)
		}
		if err := r.sleep(ctx); err != nil {
			return fmt.Errorf("notebook instance %s: waiting for deletion: %w", name, err)
		}
	}
}

// settle waits out transitional statuses and returns a stable one.
func (r *runner) settle(ctx context.Context, name string) (*NotebookState, error) {
	return r.waitNotebook(ctx, name, statusInService, statusStopped, statusFailed)
}

// stopNotebook stops an InService notebook and waits until it is Stopped.
// SageMaker only stops from InService.
func (r *runner) stopNotebook(ctx context.Context, name string) error {
	if _, err := r.c.SageMaker.StopNotebookInstance(ctx, &sagemaker.StopNotebookInstanceInput{NotebookInstanceName: aws.String(name)}); err != nil {
		return fmt.Errorf("notebook instance %s: stopping: %w", name, err)
	}
	return nil
}

// startNotebook starts a Stopped or Failed notebook.
func (r *runner) startNotebook(ctx context.Context, name string) error {
	if _, err := r.c.SageMaker.StartNotebookInstance(ctx, &sagemaker.StartNotebookInstanceInput{NotebookInstanceName: aws.String(name)}); err != nil {
		return fmt.Errorf("notebook instance %s: starting: %w", name, err)
	}
	return nil
}

// ensureStatus drives a notebook to InService or Stopped from wherever it
// is, respecting SageMaker's rules: stop only from InService, start only
// from Stopped or Failed.
func (r *runner) ensureStatus(ctx context.Context, name, want string) error {
	if want != statusInService && want != statusStopped {
		return fmt.Errorf("notebook instance %s: cannot restore status %q (only InService or Stopped)", name, want)
	}
	nb, err := r.settle(ctx, name)
	if err != nil {
		return err
	}
	switch {
	case nb.Status == want:
		return nil
	case want == statusStopped && nb.Status == statusInService:
		if err := r.stopNotebook(ctx, name); err != nil {
			return err
		}
		_, err = r.waitNotebook(ctx, name, statusStopped)
		return err
	case want == statusInService: // from Stopped or Failed
		if err := r.startNotebook(ctx, name); err != nil {
			return err
		}
		_, err = r.waitNotebook(ctx, name, statusInService)
		return err
	}
	return fmt.Errorf("notebook instance %s: is %s, cannot make it %s", name, nb.Status, want)
}

// setLifecycleConfig attaches a lifecycle configuration (or detaches it when
// name is empty). SageMaker updates only Stopped notebooks, so an InService
// one is stopped first; the caller restores the status it wants.
func (r *runner) setLifecycleConfig(ctx context.Context, notebook, config string) error {
	nb, err := r.settle(ctx, notebook)
	if err != nil {
		return err
	}
	if nb.LifecycleConfigName == config {
		return nil
	}
	if nb.Status == statusInService {
		if err := r.stopNotebook(ctx, notebook); err != nil {
			return err
		}
		if _, err := r.waitNotebook(ctx, notebook, statusStopped); err != nil {
			return err
		}
	}
	in := &sagemaker.UpdateNotebookInstanceInput{NotebookInstanceName: aws.String(notebook)}
	if config == "" {
		in.DisassociateLifecycleConfig = aws.Bool(true)
	} else {
		in.LifecycleConfigName = aws.String(config)
	}
	if _, err := r.c.SageMaker.UpdateNotebookInstance(ctx, in); err != nil {
		return fmt.Errorf("notebook instance %s: setting lifecycle configuration %q: %w", notebook, config, err)
	}
	_, err = r.waitNotebook(ctx, notebook, statusStopped)
	return err
}

// deleteNotebook stops (if needed) and deletes a notebook and waits until it
// is gone. SageMaker deletes only notebooks that are not InService.
func (r *runner) deleteNotebook(ctx context.Context, name string) error {
	s, err := observeNotebook(ctx, r.c.SageMaker, name)
	if err != nil {
		return err
	}
	if s.Absent {
		return nil
	}
	if s.Notebook.Status != statusDeleting {
		if err := r.ensureStoppedOrFailed(ctx, name); err != nil {
			return err
		}
		if _, err := r.c.SageMaker.DeleteNotebookInstance(ctx, &sagemaker.DeleteNotebookInstanceInput{NotebookInstanceName: aws.String(name)}); err != nil {
			if isNotFound(err) {
				return nil
			}
			return fmt.Errorf("notebook instance %s: deleting: %w", name, err)
		}
	}
	return r.waitNotebookGone(ctx, name)
}

func (r *runner) ensureStoppedOrFailed(ctx context.Context, name string) error {
	s, err := observeNotebook(ctx, r.c.SageMaker, name)
	if err != nil || s.Absent {
		return err
	}
	if s.Notebook.Status == statusFailed || s.Notebook.Status == statusStopped {
		return nil
	}
	return r.ensureStatus(ctx, name, statusStopped)
}
