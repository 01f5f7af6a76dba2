package remediate

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Backout numbers its own steps 1..n; each names the apply step it undoes,
// live and in the journal.
func TestBackoutStepsNameTheApplyStepTheyUndo(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, e.plan(t, PlanOptions{}), e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	var live []StepResult
	opts := fast()
	opts.OnStep = func(s StepResult) { live = append(live, s) }
	bres, err := Backout(ctx, res.RunID, e.clients(), j, opts)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := ShowRun(ctx, j, bres.RunID)
	if err != nil {
		t.Fatal(err)
	}
	// Every apply step is undone once, last first.
	var undoes []int
	for i, s := range shown.Steps {
		if s.Seq != i+1 {
			t.Errorf("backout step %d has seq %d", i+1, s.Seq)
		}
		undoes = append(undoes, s.Undoes)
	}
	var want []int
	for i := len(res.Steps); i >= 1; i-- {
		want = append(want, i)
	}
	if !slices.Equal(undoes, want) {
		t.Errorf("backout steps undo apply steps %v, want %v", undoes, want)
	}
	if d := cmp.Diff(shown.Steps, live, cmp.Comparer(func(a, b StepResult) bool {
		return a.Seq == b.Seq && a.Undoes == b.Undoes && a.Action == b.Action
	})); d != "" {
		t.Errorf("progress differs from the journal (-journal +live):\n%s", d)
	}
}
