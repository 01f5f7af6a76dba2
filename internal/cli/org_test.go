package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/collect"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/shard"
)

func TestOrgFlagsParse(t *testing.T) {
	var got orgOptions
	ios, _, _, errOut := iostreams.Test()
	code := run(t, context.Background(), ios, func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
		got = o.Org
		return stubInventory(), nil, nil
	}, "scan", "--accounts", "111122223333, 444455556666", "--accounts", "777788889999", "--exclude-accounts", "444455556666",
		"--role-name", "audit/Reader", "--external-id", "ext-1", "--shard", "1/3", "--workers", "16")
	if code != ExitOK {
		t.Fatalf("exit = %d; stderr %s", code, errOut)
	}
	if !slices.Equal(got.Accounts, []string{"111122223333", "444455556666", "777788889999"}) || !slices.Equal(got.ExcludeAccounts, []string{"444455556666"}) {
		t.Errorf("accounts %v, excluded %v", got.Accounts, got.ExcludeAccounts)
	}
	if got.RoleName != "audit/Reader" || got.ExternalID != "ext-1" || got.RoleSessionName != "sagefence" || got.Workers != 16 || got.Shard != (shard.Shard{Index: 1, Count: 3}) {
		t.Errorf("options %+v", got)
	}
}

func TestOrgFlagDefaults(t *testing.T) {
	var got orgOptions
	ios, _, _, _ := iostreams.Test()
	run(t, context.Background(), ios, func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
		got = o.Org
		return stubInventory(), nil, nil
	}, "scan")
	if got.Org || got.Accounts != nil || got.Workers != 8 || got.Shard.Count != 0 || got.RoleName != "" {
		t.Errorf("defaults %+v: want the caller's account only, 8 workers", got)
	}
}

func TestOrgFlagUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--org"}, "--role-name"},
		{[]string{"--accounts", "111122223333"}, "--role-name"},
		{[]string{"--org", "--accounts", "111122223333", "--role-name", "r"}, "cannot be combined"},
		{[]string{"--accounts", "1111-2222-3333", "--role-name", "r"}, "1111-2222-3333"},
		{[]string{"--org", "--role-name", "r", "--exclude-accounts", "abc"}, "abc"},
		{[]string{"--role-name", "r"}, "--org or --accounts"},
		{[]string{"--shard", "0/2"}, "--org or --accounts"},
		{[]string{"--org", "--role-name", "r", "--shard", "2/2"}, "--shard"},
		{[]string{"--org", "--role-name", "r", "--shard", "x"}, "--shard"},
		{[]string{"--org", "--role-name", "bad role"}, "role"},
		{[]string{"--org", "--role-name", "r", "--role-session-name", "a b"}, "session"},
		{[]string{"--org", "--role-name", "r", "--workers", "0"}, "--workers"},
		{[]string{"--external-id", "x1"}, "--org or --accounts"},
		{[]string{"--input", example, "--org"}, "--input"},
		{[]string{"--input", example, "--workers", "3"}, "--input"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			called := false
			code := run(t, context.Background(), ios, func(context.Context, liveOptions) (*inventory.Inventory, statsPrinter, error) {
				called = true
				return stubInventory(), nil, nil
			}, append([]string{"scan"}, tt.args...)...)
			if code != ExitUsage || called {
				t.Errorf("exit = %d (collected: %v), want 2 before any call", code, called)
			}
			if !strings.Contains(errOut.String(), tt.want) || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Errorf("stderr = %q, want one line mentioning %q", errOut, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q", out)
			}
		})
	}
}

func TestAccountFailureMakesTheScanIncompleteAndNamesTheAccount(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	code := run(t, context.Background(), ios, func(context.Context, liveOptions) (*inventory.Inventory, statsPrinter, error) {
		inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Disabled", SubnetID: ""})
		inv.Errors = []inventory.CollectError{{AccountID: "444455556666", Operation: "sts:AssumeRole", Resource: "arn:aws:iam::444455556666:role/r", Code: "AccessDenied", Message: "denied"}}
		return inv, nil, nil
	}, "scan", "--org", "--role-name", "r", "--format", "json")
	if code != ExitIncomplete {
		t.Fatalf("exit = %d, want 3", code)
	}
	if !strings.Contains(out.String(), `"account_id": "444455556666"`) || !strings.Contains(out.String(), `"operation": "sts:AssumeRole"`) ||
		!strings.Contains(out.String(), `"complete": false`) {
		t.Errorf("report does not name the account that could not be read:\n%s", out)
	}
}

func TestNetworkAccountsFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // the network accounts collected with; nil with wantErr
		err  string   // what the one-line usage error mentions
	}{
		{name: "with the caller's account alone", args: []string{"--network-accounts", "111122223333", "--role-name", "r"},
			want: []string{"111122223333"}},
		{name: "comma-separated, repeated, spaced", args: []string{"--network-accounts", "111122223333, 444455556666", "--network-accounts", " 777788889999 ",
			"--role-name", "r"}, want: []string{"111122223333", "444455556666", "777788889999"}},
		{name: "with an organization scan", args: []string{"--org", "--network-accounts", "111122223333", "--role-name", "r", "--external-id", "ext-1"},
			want: []string{"111122223333"}},
		{name: "with listed accounts", args: []string{"--accounts", "444455556666", "--network-accounts", "111122223333", "--role-name", "r"},
			want: []string{"111122223333"}},
		{name: "not an account ID", args: []string{"--network-accounts", "1111-2222-3333", "--role-name", "r"}, err: `--network-accounts: "1111-2222-3333"`},
		{name: "too short", args: []string{"--network-accounts", "12345", "--role-name", "r"}, err: "12-digit"},
		{name: "without a role", args: []string{"--network-accounts", "111122223333"}, err: "--network-accounts needs --role-name"},
		{name: "with --input", args: []string{"--input", example, "--network-accounts", "111122223333"}, err: "--network-accounts reads AWS and cannot be combined with --input"},
		{name: "exclusions still need accounts", args: []string{"--network-accounts", "111122223333", "--role-name", "r", "--exclude-accounts", "444455556666"},
			err: "--exclude-accounts needs --org or --accounts"},
		{name: "a shard still needs accounts", args: []string{"--network-accounts", "111122223333", "--role-name", "r", "--shard", "0/2"},
			err: "--shard needs --org or --accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *liveOptions
			ios, _, _, errOut := iostreams.Test()
			code := run(t, context.Background(), ios, func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
				got = &o
				return stubInventory(), nil, nil
			}, append([]string{"scan"}, tt.args...)...)
			if tt.err != "" {
				if code != ExitUsage || got != nil {
					t.Errorf("exit = %d (collected: %v), want 2 before any call", code, got != nil)
				}
				if msg := strings.TrimSpace(errOut.String()); !strings.Contains(msg, tt.err) || strings.Contains(msg, "\n") {
					t.Errorf("stderr = %q, want one line mentioning %q", msg, tt.err)
				}
				return
			}
			if code != ExitOK || got == nil {
				t.Fatalf("exit = %d; stderr %s", code, errOut)
			}
			var copts collect.CollectOptions
			got.Org.apply(&copts)
			if !slices.Equal(copts.NetworkAccounts, tt.want) || copts.Role.Name != "r" {
				t.Errorf("collection options: network accounts %v, role %q; want %v through r", copts.NetworkAccounts, copts.Role.Name, tt.want)
			}
		})
	}
}

func TestHelpTeachesNetworkAccounts(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--help"})
	for _, want := range []string{"--network-accounts", "transit gateways and egress VPCs the path analysis may read", "their notebooks are not scanned"} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("scan --help lacks %q", want)
		}
	}
}
