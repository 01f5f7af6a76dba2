package cloudformation

import (
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// checkNotebooks asserts what must hold for any template: no panic (the
// fuzzer's own check), every notebook located, every value with at least
// one alternative after normalisation.
func checkNotebooks(t *testing.T, doc *Node) {
	if !IsTemplate(doc) {
		return
	}
	nbs, _ := Notebooks("fuzz.yaml", doc, Options{Params: map[string]string{"Override": "Disabled"}})
	for _, nb := range nbs {
		if nb.Address == "" || nb.Line < 0 {
			t.Fatalf("notebook not located: %+v", nb)
		}
		v := nb.DirectInternetAccess
		if model.IsDomain(nb.Type) {
			v = nb.AppNetworkAccessType
		}
		if n := len(v.Normalized().Alts); n == 0 || n > maxAlts*3 {
			t.Fatalf("%s: the attribute has %d alternatives", nb.Type, n)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Resources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n",
		`{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::If": ["C", "Disabled", "Enabled"]}}}}}`,
		"a: &a [*a]\n",
		"Conditions:\n  A: !Condition B\n  B: !Condition A\nResources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n    Condition: A\n",
		"{\"Resources\": [1, 2,\n",
		"Resources:\n  D:\n    Type: AWS::SageMaker::Domain\n    Properties: {AppNetworkAccessType: !If [C, VpcOnly, PublicInternetOnly]}\n",
		`{"Resources": {"D": {"Type": "AWS::SageMaker::Domain", "Properties": "VpcOnly"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode("fuzz", data)
		if err != nil {
			var se *SyntaxError
			if e, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			} else {
				se = e
			}
			if se.Line < 0 {
				t.Fatalf("negative line: %v", se)
			}
			return
		}
		checkNotebooks(t, doc)
	})
}

// FuzzIntrinsic puts an arbitrary YAML value where DirectInternetAccess
// and SubnetId go, in a template with parameters, conditions and mappings
// for the resolver to chase.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{
		"!Ref Access", "!If [IsProd, Disabled, Enabled]", "!Sub '${Access}'", `!Sub ["${A}${B}", {A: Dis, B: !Ref Access}]`,
		"!Join ['', [Dis, abled]]", "!Select [0, !Split [',', 'Disabled,Enabled']]", "!FindInMap [M, !Ref Env, Mode]",
		"{Fn::If: [Loop, !If [Loop, a, b], c]}", "!GetAtt A.B", `!Ref "AWS::NoValue"`, "!Select [99999999999999999999, [a]]",
		"!Join [!Ref Access, !Ref List]", "!FindInMap [M, !If [IsProd, prod, dev], Mode, {DefaultValue: Enabled}]",
	} {
		f.Add(s)
	}
	const tmpl = `Parameters:
  Access: {Type: String, Default: Enabled, AllowedValues: [Enabled, Disabled]}
  Env: {Type: String, Default: prod}
  List: {Type: CommaDelimitedList, Default: "a,b"}
  Override: {Type: String}
Mappings:
  M:
    prod: {Mode: Disabled}
    dev: {Mode: Enabled}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Loop: !Not [!Condition Loop]
  Either: !Or [!Condition IsProd, !And [!Condition Loop, !Equals [!Ref Access, Enabled]]]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Condition: Either
    Properties:
      DirectInternetAccess: VALUE
      SubnetId: VALUE
`
	f.Fuzz(func(t *testing.T, expr string) {
		if strings.ContainsAny(expr, "\n\r") {
			return // one flow-style value per property
		}
		doc, err := Decode("fuzz.yaml", []byte(strings.ReplaceAll(tmpl, "VALUE", expr)))
		if err != nil {
			return
		}
		checkNotebooks(t, doc)
	})
}

func TestAliasBombIsAnErrorNotAnExplosion(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 12; i++ {
		name := string(rune('b' + i))
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	_, err := Decode("bomb.yaml", []byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err = %v, want a too-large error", err)
	}
}

func TestSubOfLongParameterIsBounded(t *testing.T) {
	long := strings.Repeat("x", 50_000)
	tmpl := "Parameters:\n  P: {Type: String, Default: " + long + "}\nResources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n" +
		"    Properties:\n      DirectInternetAccess: !Sub '" + strings.Repeat("${P}", 2000) + "'\n"
	doc, err := Decode("t.yaml", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	nbs, _ := Notebooks("t.yaml", doc, Options{})
	if len(nbs) != 1 || !nbs[0].DirectInternetAccess.Alts[0].Unknown {
		t.Fatalf("want an unknown value, not a 100 MB string: %+v", nbs[0].DirectInternetAccess.Alts[0].Why)
	}
}
