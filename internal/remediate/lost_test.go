package remediate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/testenv"
)

// mutatingOps are the operations of counts that change an account.
func mutatingOps(counts map[string]int) []string {
	var ops []string
	for op := range counts {
		_, name, _ := strings.Cut(op, ":")
		if strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get") ||
			strings.HasPrefix(name, "Head") {
			continue
		}
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// A call that AWS carries out but whose answer is lost is retried by the
// SDK, and the retry fails on the change the first attempt made (the rule
// is already gone or already there, the notebook already exists). Apply and
// backout must see from the account that the change is in place and go on,
// for every call they make; and backout must still restore the account.
func TestLostResponsesDoNotFailApplyOrBackout(t *testing.T) {
	ctx := context.Background()
	// A clean run lists the calls that change the account, in each phase.
	// UpdateNotebookInstance is left out: the proxy answers it itself (moto
	// lacks it), ahead of any rule a case adds.
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	j := openJournal(t)
	skip := func(op string) bool { return op == "sagemaker:UpdateNotebookInstance" }
	e.proxy.ResetCounts()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("clean Apply: %v", err)
	}
	phases := map[string][]string{"apply": slices.DeleteFunc(mutatingOps(e.proxy.Counts()), skip)}
	e.proxy.ResetCounts()
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatalf("clean Backout: %v", err)
	}
	phases["backout"] = slices.DeleteFunc(mutatingOps(e.proxy.Counts()), skip)
	if len(phases["apply"]) < 5 || len(phases["backout"]) < 4 {
		t.Fatalf("a clean apply and backout made only these changing calls: %v", phases)
	}
	for _, phase := range []string{"apply", "backout"} {
		for _, op := range phases[phase] {
			t.Run(phase+"/"+op, func(t *testing.T) {
				e := newEnv(t)
				buildEstate(t, e)
				p := e.plan(t, PlanOptions{})
				before := e.snapshot(t)
				j := openJournal(t)
				lose := testenv.Rule{Op: op, Limit: 1, Fault: testenv.LoseResponse()}
				if phase == "apply" {
					e.proxy.Add(lose)
				}
				res, err := Apply(ctx, p, e.clients(), j, fast())
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if phase == "backout" {
					e.proxy.Add(lose)
				}
				if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
					t.Fatalf("Backout: %v", err)
				}
				if e.proxy.Injected(op) != 1 {
					t.Fatalf("no %s answer was lost", op)
				}
				if diff := diffAccount(before, e.snapshot(t)); diff != "" {
					t.Errorf("account after backout (-before +after):\n%s", diff)
				}
			})
		}
	}
}
