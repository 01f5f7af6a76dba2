// Package remediate carries out the SOP's Implementation Steps and Backout
// Plan safely. It owns four operations, each a plain function the CLI calls:
//
//   - BuildPlan turns a report's FAIL results into a read-only, versioned,
//     hashable Plan: recreate-notebook for direct-internet-access,
//     restrict-sg-egress for internet-egress-path, disable-public-ip-on-launch
//     for public-subnet. Each action records the before-state it expects, the
//     after-state it leaves and its blast radius; actions that cannot be
//     applied safely are marked blocked with the reason.
//   - Apply executes a plan once under the journal's exclusive lock. Each
//     action is re-checked against the live state first (drift skips it),
//     then carried out as journaled steps: intent and before-state are
//     committed before the AWS call, the result after.
//   - Backout replays the inverses of a run's steps in reverse order from the
//     journal, checking before each that the live state is what apply left,
//     and deciding from the live state whether a call that was in flight
//     when a process died took effect.
//   - Finalize deletes the notebooks a run replaced: nothing else ever
//     deletes a customer's notebook.
//
// Every step kind implements the same small interface (observe, check,
// expect, do, undo); one conformance test runs each through do and undo
// against the AWS emulator. See docs/remediation.md.
package remediate
