package remediate

import (
	"context"
	"errors"
)

// stateDecided is implemented by the steps whose success the account's
// state alone shows. When such a step's call fails, apply and backout wait
// for the resource to settle and compare it with the state the step was to
// leave: if the change is in place, the step is done. That is the case of a
// call AWS carried out whose answer was lost: the SDK retries it, and the
// retry fails on the change the first attempt made (the rule is already
// there or already gone, the notebook already exists).
//
// The data steps (backup, restore check) are not state-decided: their
// success is a manifest, not a setting.
type stateDecided interface {
	step
	// settle waits until the step's resource is in a stable state.
	settle(ctx context.Context, r *runner) error
}

func (s *authorizeSGEgress) settle(context.Context, *runner) error     { return nil }
func (s *revokeSGEgress) settle(context.Context, *runner) error        { return nil }
func (s *setSubnetPublicIP) settle(context.Context, *runner) error     { return nil }
func (s *tagNotebook) settle(context.Context, *runner) error           { return nil }
func (s *createLifecycleConfig) settle(context.Context, *runner) error { return nil }
func (s *deleteLifecycleConfig) settle(context.Context, *runner) error { return nil }

func (s *setNotebookLifecycle) settle(ctx context.Context, r *runner) error {
	return r.quiesce(ctx, s.Name)
}

func (s *createNotebook) settle(ctx context.Context, r *runner) error {
	return r.quiesce(ctx, s.Spec.Name)
}

func (s *stopNotebook) settle(ctx context.Context, r *runner) error {
	return r.quiesce(ctx, s.Name)
}

func (s *deleteNotebook) settle(ctx context.Context, r *runner) error {
	return r.quiesce(ctx, s.Name)
}

// quiesce waits until the notebook is absent or in a status no operation
// is under way in (InService, Stopped, Failed).
func (r *runner) quiesce(ctx context.Context, name string) error {
	if _, err := r.settle(ctx, name); err != nil && !errors.Is(err, errNotebookGone) {
		return err
	}
	return nil
}

// settleAfterError waits for s's resource to settle after its call failed,
// when s is state-decided and ctx is still live. It reports whether the
// caller may judge the step by the state it observes next.
func settleAfterError(ctx context.Context, r *runner, s step) bool {
	d, ok := s.(stateDecided)
	return ok && ctx.Err() == nil && d.settle(ctx, r) == nil
}

// inPlaceNote is the journal note of a step whose call failed while the
// account shows its change made.
func inPlaceNote(callErr error) string {
	return "the call failed (" + callErr.Error() + ") but the account shows the change in place: " +
		"an earlier attempt of the retried call had worked"
}
