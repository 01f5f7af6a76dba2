package remediate

import (
	"errors"
	"slices"
	"testing"
)

func TestCheckReadyNamesThePlanFlagsThatWouldUnblock(t *testing.T) {
	shared := Action{Kind: ActionRestrictSGEgress, Resource: "sg-1",
		Blocked: "security group sg-1 is shared: 1 other network interface(s) (eni-1) use sg-1; pass --allow-shared to change it for all of them"}
	noSubnet := Action{Kind: ActionRecreateNotebook, Resource: "nb",
		Blocked: "notebook nb has no VPC subnet, so no private subnet can be chosen for it; pass --target-subnet; " +
			"notebook nb has no security groups to copy; pass --target-security-groups"}
	noFlag := Action{Kind: ActionDisablePublicIP, Resource: "subnet-1", Blocked: "subnet subnet-1 already has MapPublicIpOnLaunch=false"}
	alsoShared := Action{Kind: ActionRestrictSGEgress, Resource: "sg-2", Blocked: "security group sg-2 is shared; pass --allow-shared"}
	ready := Action{Kind: ActionRestrictSGEgress, Resource: "sg-3"}
	cases := []struct {
		name    string
		actions []Action
		want    string // "" when the plan is ready
		flags   []string
	}{
		{"no actions", nil, "nothing to apply: the plan has no actions (no FAIL result had a fix to plan)", nil},
		{"one action ready among blocked ones", []Action{shared, ready, noFlag}, "", nil},
		{"the only action, blocked", []Action{shared},
			"nothing to apply: its only action is blocked (restrict-sg-egress sg-1); plan again with --allow-shared",
			[]string{"--allow-shared"}},
		{"every action blocked, flags in plan order without repeats", []Action{shared, noSubnet, alsoShared},
			"nothing to apply: all 3 actions are blocked (restrict-sg-egress sg-1; recreate-notebook nb; restrict-sg-egress sg-2); " +
				"plan again with --allow-shared, --target-subnet or --target-security-groups",
			[]string{"--allow-shared", "--target-subnet", "--target-security-groups"}},
		{"a reason no flag answers is given in full", []Action{noFlag, shared},
			"nothing to apply: all 2 actions are blocked (disable-public-ip-on-launch subnet-1: subnet subnet-1 already has " +
				"MapPublicIpOnLaunch=false; restrict-sg-egress sg-1); plan again with --allow-shared",
			[]string{"--allow-shared"}},
		{"no flag at all", []Action{noFlag},
			"nothing to apply: its only action is blocked (disable-public-ip-on-launch subnet-1: subnet subnet-1 already has MapPublicIpOnLaunch=false)",
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := (&Plan{Actions: c.actions}).CheckReady()
			if c.want == "" {
				if err != nil {
					t.Fatalf("CheckReady = %v, want nil", err)
				}
				return
			}
			var na *NotApplicableError
			if !errors.As(err, &na) {
				t.Fatalf("CheckReady = %v, want a NotApplicableError", err)
			}
			if err.Error() != c.want {
				t.Errorf("message:\n got %s\nwant %s", err, c.want)
			}
			if !slices.Equal(na.Flags, c.flags) {
				t.Errorf("flags = %v, want %v", na.Flags, c.flags)
			}
		})
	}
}
